import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { jobOptionsFor } from './job-options';
import { RoleQueues, type QueuedJob } from './role-queues';
import { unsignedMessage } from './store.fixture';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
const queues = new RoleQueues(redis, keys, ['audit', 'notify']);
const settings = { attempts: 2, backoff: { type: 'exponential' as const, delayMs: 10, jitter: 0 } };

afterAll(async () => {
  await queues.close();
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

function job(role: string, extra: Partial<QueuedJob['options']> = {}): QueuedJob {
  const message = unsignedMessage(role);
  return { message, options: { ...jobOptionsFor(settings, message.id, { ageSeconds: 600, count: 100 }), ...extra } };
}

async function ids(role: string): Promise<string[]> {
  return (await queues.get(role).getJobs(['waiting', 'delayed', 'prioritized'])).map((found) => found.id!).sort();
}

describe('RoleQueues.addAll', () => {
  it('adds jobs of several roles, with their ids, options and data, and counts them per role', async () => {
    const jobs = [job('audit'), job('notify'), job('audit', { delay: 60_000 }), job('notify', { priority: 3 })];
    expect(await queues.addAll(jobs)).toEqual({ counts: new Map([['audit', 2], ['notify', 2]]), ids: jobs.map((queued) => queued.message.id) });
    expect(await ids('audit')).toEqual([jobs[0]!.message.id, jobs[2]!.message.id].sort());
    expect(await ids('notify')).toEqual([jobs[1]!.message.id, jobs[3]!.message.id].sort());
    const delayed = await queues.get('audit').getJob(jobs[2]!.message.id);
    expect(await delayed!.getState()).toBe('delayed');
    expect(delayed!.data).toEqual(jobs[2]!.message);
    expect(await (await queues.get('notify').getJob(jobs[3]!.message.id))!.getState()).toBe('prioritized');
  });

  it('adds none when BullMQ refuses one of the jobs', async () => {
    const before = { audit: await ids('audit'), notify: await ids('notify') };
    // BullMQ refuses a fractional priority before anything is sent.
    await expect(queues.addAll([job('audit'), job('notify', { priority: 1.5 }), job('audit')])).rejects.toThrow(/[Pp]riority/);
    expect({ audit: await ids('audit'), notify: await ids('notify') }).toEqual(before);
  });

  it('answers the id a deduplicated job met (one job or in a transaction) and counts only new jobs', async () => {
    const deduplication = { id: 'same-key' };
    const first = job('audit', { deduplication });
    expect((await queues.addAll([first])).ids).toEqual([first.message.id]);
    const lone = job('audit', { deduplication });
    expect(await queues.addAll([lone])).toEqual({ counts: new Map(), ids: [first.message.id] });
    const [other, duplicate] = [job('notify'), job('audit', { deduplication })];
    expect(await queues.addAll([other, duplicate])).toEqual({ counts: new Map([['notify', 1]]), ids: [other.message.id, first.message.id] });
    expect(await ids('audit')).not.toContain(duplicate.message.id);
  });

  it('adds a job whose id exists once (an Idempotency-Key retry re-adds what it stored)', async () => {
    const again = job('audit');
    await queues.addAll([again, job('notify')]);
    const after = await ids('audit');
    await queues.addAll([again, job('notify')]);
    expect(await ids('audit')).toEqual(after);
  });
});
