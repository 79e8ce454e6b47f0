import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { WorkerEntry } from '@taskyard/contracts';
import { TaskyardKeys } from './taskyard-keys';
import { WorkerRegistry } from './worker-registry';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
const keys = new TaskyardKeys(prefix);
const registry = new WorkerRegistry(redis, keys, 1000);

afterAll(async () => {
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

const entry = (id: string, lastSeenAt: number): WorkerEntry => ({
  id,
  host: 'h',
  pid: 1,
  roles: [{ name: 'echo', concurrency: 5 }],
  concurrency: 5,
  version: '0.1.0',
  startedAt: new Date(lastSeenAt - 10_000).toISOString(),
  lastSeenAt: new Date(lastSeenAt).toISOString(),
  active: 0,
  processed: 0,
  failed: 0,
});

describe('WorkerRegistry', () => {
  it('lists the workers heartbeating within three of their heartbeats, prunes the silent ones once (logging each departure), and forgets one that left', async () => {
    const departures: string[] = [];
    const reader = new WorkerRegistry(redis, keys, 1000, { warn: (fields) => departures.push(String(fields['workerId'])) });
    // A worker with a slower heartbeat (10 s) is judged by its own deadline, not the reader's.
    const slow = new WorkerRegistry(redis, keys, 10_000);
    const now = Date.now();
    await registry.beat(entry('fresh', now));
    await registry.beat(entry('late-but-live', now - 2500));
    await registry.beat(entry('silent', now - 3500));
    await slow.beat(entry('slow-heartbeat', now - 20_000));
    await registry.beat(entry('leaving', now));
    await registry.leave('leaving');
    const first = await reader.live(now);
    expect(first.workers.map((worker) => worker.id).sort()).toEqual(['fresh', 'late-but-live', 'slow-heartbeat']);
    expect(first.departed).toEqual(['silent']);
    expect(departures).toEqual(['silent']);
    expect((await reader.live(now)).departed).toEqual([]);
    expect(departures).toEqual(['silent']);
    expect(await redis.hexists(keys.workers, 'silent')).toBe(0);
    expect(registry.expiryMs).toBe(3000);
  });
});
