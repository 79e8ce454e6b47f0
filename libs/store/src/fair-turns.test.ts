import { randomBytes } from 'node:crypto';
import { PRIORITY_LIMIT, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { FairTurns } from './fair-turns';
import { jobOptionsFor } from './job-options';
import { RoleQueues, type QueuedJob } from './role-queues';
import { unsignedMessage } from './store.fixture';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
const queues = new RoleQueues(redis, keys, ['fair', 'steady']);
const turns = new FairTurns(redis, keys, queues);
const settings = { attempts: 1, backoff: { type: 'exponential' as const, delayMs: 10, jitter: 0 } };
const SCORE = 0x100000000;

afterAll(async () => {
  await queues.close();
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

beforeEach(async () => {
  await queues.get('fair').obliterate({ force: true });
  await redis.del(keys.fairTurns('fair'), keys.fairTurns('steady'), queues.prioritizedKey('steady'));
});

const tenants = (tenant: string | undefined, count: number) => Array.from({ length: count }, () => tenant);

/** Adds jobs of role `fair` with the priorities `turns` reserved for them, in one MULTI (as the dispatcher does). */
async function enqueue(tenant: string | undefined, count: number): Promise<{ ids: string[]; priorities: number[] }> {
  const priorities = await turns.reserve('fair', tenants(tenant, count));
  const jobs: QueuedJob[] = priorities.map((priority) => {
    const message = unsignedMessage('fair');
    return { message: { ...message, metadata: { ...message.metadata, ...(tenant ? { tenant } : {}) } }, options: { ...jobOptionsFor(settings, message.id, { ageSeconds: 600, count: 10_000 }), priority } };
  });
  await queues.addAll(jobs);
  return { ids: jobs.map((job) => job.message.id), priorities };
}

/** The ids of role `fair`'s waiting jobs in the order a worker takes them. */
async function takeOrder(): Promise<string[]> {
  return redis.zrange(queues.prioritizedKey('fair'), 0, -1);
}

describe('FairTurns: start-time fair queuing on BullMQ priorities', () => {
  it('numbers an idle role’s tasks from 1, and each tenant’s tasks in order', async () => {
    expect(await turns.reserve('fair', ['a', 'a', 'b', undefined, 'a', undefined])).toEqual([1, 2, 1, 1, 3, 2]);
  });

  it('lets a tenant arriving behind a flood take every other turn, from the front of the queue', async () => {
    const flood = await enqueue('a', 2000);
    expect(flood.priorities.at(-1)).toBe(2000);
    // A worker takes the first 500 of the flood: the front is now the flood's 501st task.
    await redis.zpopmin(queues.prioritizedKey('fair'), 500);
    const late = await enqueue('b', 20);
    expect(late.priorities).toEqual(Array.from({ length: 20 }, (_, at) => 502 + at));
    const order = await takeOrder();
    // b's 20 go between a's next 21: all of them within the next 41 tasks, not after 1500.
    const lastOfB = Math.max(...late.ids.map((id) => order.indexOf(id)));
    expect(lastOfB).toBeLessThan(41);
    expect(order.slice(0, 6)).toEqual([flood.ids[500], flood.ids[501], late.ids[0], flood.ids[502], late.ids[1], flood.ids[503]]);
  });

  it('reads the front from BullMQ’s own prioritised set, and trims the tenants the front passed', async () => {
    await enqueue('a', 10);
    await enqueue('b', 3);
    await redis.zpopmin(queues.prioritizedKey('fair'), 8);
    // The front is a's 6th task (turn 6): b's last turn (3) is behind it, so b leaves the set
    // (it would start at the front again), and a newcomer's first turn is the front's next.
    expect(await turns.reserve('fair', ['c'])).toEqual([7]);
    expect(await redis.zrange(keys.fairTurns('fair'), 0, -1)).toEqual(['"c"', '"a"']);
    expect(await redis.pttl(keys.fairTurns('fair'))).toBeGreaterThan(86_400_000);
  });

  it('starts again from 1 once nothing waits, and a worker takes the tasks in their turns', async () => {
    await enqueue('a', 5);
    await redis.del(queues.prioritizedKey('fair'));
    expect(await turns.reserve('fair', ['a', 'b'])).toEqual([1, 1]);
    await queues.get('fair').obliterate({ force: true });
    const a = await enqueue('a', 4);
    const b = await enqueue('b', 2);
    const ran: string[] = [];
    const worker = new Worker('fair', async (job) => void ran.push(job.id!), { connection: redis, prefix: keys.queuePrefix('fair'), concurrency: 1 });
    try {
      await expect.poll(() => ran.length, { timeout: 10_000 }).toBe(6);
    } finally {
      await worker.close();
    }
    // b came while a's first task was the front: b's first turn is the next one, after a's second (added first).
    expect(b.priorities).toEqual([2, 3]);
    expect(ran).toEqual([a.ids[0], a.ids[1], b.ids[0], a.ids[2], b.ids[1], a.ids[3]]);
  });

  it('stays within BullMQ’s priorities however many tasks pass through a queue that never drains', async () => {
    // A busy period 2 million turns in (BullMQ's layout, without the jobs): the front and one
    // tenant's backlog just below BullMQ's largest priority; then 200 000 more tasks through a
    // queue that always holds 1000. Every priority is 1..PRIORITY_LIMIT, never decreasing for
    // the tenant; past the range they take the largest (order of arrival), never more.
    const prioritized = queues.prioritizedKey('steady');
    let counter = 0;
    const add = (priorities: readonly number[]) => redis.zadd(prioritized, ...priorities.flatMap((priority) => [priority * SCORE + (counter += 1), `job-${counter}`]));
    await add([PRIORITY_LIMIT - 50_000]);
    await redis.zadd(keys.fairTurns('steady'), PRIORITY_LIMIT - 40_000, '"a"');
    let previous = 0;
    for (let round = 0; round < 200; round += 1) {
      const priorities = await turns.reserve('steady', tenants('a', 1000));
      expect(Math.min(...priorities)).toBeGreaterThanOrEqual(Math.max(1, previous));
      expect(Math.max(...priorities)).toBeLessThanOrEqual(PRIORITY_LIMIT);
      previous = priorities.at(-1)!;
      await add(priorities);
      await redis.zpopmin(prioritized, round === 0 ? 1 : 1000);
    }
    expect(previous).toBe(PRIORITY_LIMIT);
    // A newcomer still gets a priority BullMQ takes.
    expect(await turns.reserve('steady', ['b'])).toEqual([PRIORITY_LIMIT]);
    // Once the queue drains, the turns start over.
    await redis.del(prioritized);
    expect(await turns.reserve('steady', ['b'])).toEqual([1]);
  });

  it('a priority at the largest is one BullMQ takes', async () => {
    await redis.zadd(keys.fairTurns('fair'), PRIORITY_LIMIT + 5, '"a"');
    await redis.zadd(queues.prioritizedKey('fair'), 10 * SCORE, 'placeholder');
    const [priority] = await turns.reserve('fair', ['a']);
    expect(priority).toBe(PRIORITY_LIMIT);
    const message = unsignedMessage('fair');
    await queues.addAll([{ message, options: { ...jobOptionsFor(settings, message.id, { ageSeconds: 600, count: 10 }), priority: priority! } }]);
    expect(await (await queues.get('fair').getJob(message.id))!.getState()).toBe('prioritized');
  });

  it('answers nothing, and sends nothing, for no tasks', async () => {
    expect(await turns.reserve('fair', [])).toEqual([]);
  });
});
