import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ScheduleRecord } from '@taskyard/contracts';
import { ScheduleStore } from './schedule-store';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
const keys = new TaskyardKeys(prefix);
const store = new ScheduleStore(redis, keys);

afterAll(async () => {
  await store.close();
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

const now = new Date().toISOString();
const record = (id: string, extra: Partial<ScheduleRecord> = {}): ScheduleRecord => ({ id, role: 'tick', payload: {}, every: 3_600_000, owner: 'ops', createdAt: now, updatedAt: now, ...extra });

describe('ScheduleStore', () => {
  it("keeps each tenant's ids apart, including tenants whose names look alike", () => {
    const ids = [ScheduleStore.internalId(undefined, 'a'), ScheduleStore.internalId('acme', 'a'), ScheduleStore.internalId('acme.a', 'a'), ScheduleStore.internalId('acm', 'ea')];
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).not.toContain(':');
  });

  it("answers why BullMQ's cron parser refuses an expression", () => {
    expect(ScheduleStore.cronProblem('0 12 * * 1-5', 'Europe/Berlin')).toBeUndefined();
    expect(ScheduleStore.cronProblem('* * * * * *', undefined)).toBeUndefined();
    expect(ScheduleStore.cronProblem('every day at noon', undefined)).toEqual(expect.any(String));
    expect(ScheduleStore.cronProblem('61 * * * *', undefined)).toEqual(expect.any(String));
  });

  it("lists a tenant's schedules only, or everyone's, a page at a time", async () => {
    for (const id of ['s1', 's2', 's3']) await store.upsert(ScheduleStore.internalId('acme', id), record(id, { tenant: 'acme' }));
    await store.upsert(ScheduleStore.internalId('acme.x', 's1'), record('s1', { tenant: 'acme.x' }));
    await store.upsert(ScheduleStore.internalId(undefined, 'ops-1'), record('ops-1'));
    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await store.list({ tenant: 'acme' }, 2, after);
      pages.push(page.items.map((item) => `${item.tenant}/${item.id}`));
      after = page.last;
    } while (after);
    expect(pages).toEqual([['acme/s1', 'acme/s2'], ['acme/s3']]);
    expect((await store.list('all', 100, undefined)).items.map((item) => `${item.tenant ?? '-'}/${item.id}`).sort()).toEqual(['-/ops-1', 'acme.x/s1', 'acme/s1', 'acme/s2', 'acme/s3']);
    expect(await store.countOf('acme')).toBe(3);
    expect(await store.countOf(undefined)).toBe(1);
    // A cursor from another tenant's space does not leak into this one.
    expect((await store.list({ tenant: 'acme.x' }, 10, ScheduleStore.internalId('acme', 's1'))).items.map((item) => item.id)).toEqual(['s1']);
  });

  it('puts back the pending run of a schedule that lost it (a worker killed between taking a run and adding the next)', async () => {
    const internalId = ScheduleStore.internalId(undefined, 'lost');
    await store.upsert(internalId, record('lost', { startAt: new Date(Date.now() + 3_600_000).toISOString() }));
    const scheduler = await store.queue.getJobScheduler(internalId);
    const taken = `repeat:${internalId}:${scheduler!.next}`;
    expect(await store.queue.getJobState(taken)).toBe('delayed');
    // What a worker dying in that window leaves: the run it took active (until it stalls) and no
    // next one (the run is moved by hand here: BullMQ's own take would add the next at once).
    await redis.multi().zrem(store.queue.keys.delayed!, taken).lpush(store.queue.keys.active!, taken).exec();
    expect(await store.queue.getJobState(taken)).toBe('active');
    expect(await store.reconcile()).toBe(1);
    const next = (await store.queue.getJobScheduler(internalId))!.next!;
    expect(next).toBe(scheduler!.next! + 3_600_000);
    expect(await store.queue.getJobState(`repeat:${internalId}:${next}`)).toBe('delayed');
    // Nothing to repair a second time.
    expect(await store.reconcile()).toBe(0);
  });

  it('removes a schedule whole: its scheduler, its pending run, its record and runs', async () => {
    const internalId = ScheduleStore.internalId('acme', 'gone');
    await store.upsert(internalId, record('gone', { tenant: 'acme' }));
    await store.recordRun(internalId, { scheduledFor: now, firedAt: now, taskId: `tick_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}` });
    expect((await store.view(internalId))?.lastRuns).toHaveLength(1);
    expect(await store.remove(internalId)).toBe(true);
    expect(await store.view(internalId)).toBeUndefined();
    expect(await store.queue.getJobScheduler(internalId)).toBeUndefined();
    expect(await redis.exists(keys.scheduleRuns(internalId))).toBe(0);
    expect(await store.remove(internalId)).toBe(false);
    // A run racing the removal leaves nothing behind.
    await store.recordRun(internalId, { scheduledFor: now, firedAt: now });
    expect(await redis.exists(keys.scheduleRuns(internalId))).toBe(0);
  });
});
