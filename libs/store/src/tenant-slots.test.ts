import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { TaskyardKeys } from './taskyard-keys';
import { TenantSlots } from './tenant-slots';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
const keys = new TaskyardKeys(prefix);

afterAll(async () => {
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

describe('TenantSlots: a fair role’s limits per tenant, shared by every replica', () => {
  it('grants at most tenantConcurrency slots per tenant, each tenant (and no tenant) its own, and frees a slot given back', async () => {
    const slots = new TenantSlots(redis, keys, 'limited', { tenantConcurrency: 2 }, 60_000);
    const first = await slots.take('t1', 'x', 'acme');
    const second = await slots.take('t2', 'x', 'acme');
    expect([first.granted, second.granted]).toEqual([true, true]);
    expect(await slots.take('t3', 'x', 'acme')).toEqual({ granted: false, reason: 'concurrency', retryMs: 0 });
    expect((await slots.take('t4', 'x', 'globex')).granted).toBe(true);
    expect((await slots.take('t5', 'x', undefined)).granted).toBe(true);
    expect((await slots.take('t6', 'x', undefined)).granted).toBe(true);
    expect((await slots.take('t7', 'x', undefined)).granted).toBe(false);
    if (first.granted) await first.release();
    expect((await slots.take('t3', 'x', 'acme')).granted).toBe(true);
    expect(await redis.zcard(keys.fairLeases('limited', 'acme'))).toBe(2);
  });

  it('frees the slot of a task that never gave it back (its worker was killed) when its lease ends; the key expires too', async () => {
    const slots = new TenantSlots(redis, keys, 'leased', { tenantConcurrency: 1 }, 300);
    expect((await slots.take('t1', 'x', 'acme')).granted).toBe(true);
    expect((await slots.take('t2', 'x', 'acme')).granted).toBe(false);
    expect(await redis.pttl(keys.fairLeases('leased', 'acme'))).toBeLessThanOrEqual(300);
    await sleep(350);
    expect((await slots.take('t2', 'x', 'acme')).granted).toBe(true);
  });

  it('starts at most tenantRate.max tasks per window per tenant, and says when the window ends', async () => {
    const slots = new TenantSlots(redis, keys, 'rated', { tenantRate: { max: 3, durationMs: 500 } }, 60_000);
    for (const id of ['t1', 't2', 't3']) expect((await slots.take(id, 'x', 'acme')).granted).toBe(true);
    const refused = await slots.take('t4', 'x', 'acme');
    expect(refused).toMatchObject({ granted: false, reason: 'rate' });
    expect(refused.granted === false && refused.retryMs).toBeGreaterThan(0);
    expect(refused.granted === false && refused.retryMs).toBeLessThanOrEqual(500);
    expect((await slots.take('t5', 'x', 'globex')).granted).toBe(true);
    await sleep(550);
    expect((await slots.take('t4', 'x', 'acme')).granted).toBe(true);
    // A refused start does not count: the window holds the three granted, then one.
    expect(await redis.get(keys.fairRate('rated', 'acme'))).toBe('1');
  });

  it('grants every task of a fair role without limits, keeping nothing in Redis', async () => {
    const slots = new TenantSlots(redis, keys, 'free', {}, 60_000);
    expect(slots.limited).toBe(false);
    for (const id of ['t1', 't2', 't3']) expect((await slots.take(id, 'x', 'acme')).granted).toBe(true);
    expect(await redis.exists(keys.fairLeases('free', 'acme'), keys.fairRate('free', 'acme'))).toBe(0);
  });

  it('counts a task\'s deferrals on its job, apart from its snoozes', async () => {
    const slots = new TenantSlots(redis, keys, 'limited', { tenantConcurrency: 1 }, 60_000);
    const id = 'limited_00000000-0000-4000-8000-000000000001';
    await redis.hset(keys.job(id), 'name', 'limited');
    expect(await slots.deferralsOf(id)).toBe(0);
    await slots.recordDeferral(id);
    await slots.recordDeferral(id);
    expect(await slots.deferralsOf(id)).toBe(2);
  });
});
