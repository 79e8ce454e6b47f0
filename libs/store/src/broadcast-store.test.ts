import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { newBroadcastId, type BroadcastRecord } from '@taskyard/contracts';
import { BroadcastStore, decodeBroadcastCursor, encodeBroadcastCursor } from './broadcast-store';
import { TaskyardKeys } from './taskyard-keys';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
const subscriber = new Redis(inject('redisUrl'));
const keys = new TaskyardKeys(prefix);
const RETENTION_MS = 60_000;
const store = new BroadcastStore(redis, keys, RETENTION_MS);

afterAll(async () => {
  const found = await redis.keys(`${prefix}{*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
  subscriber.disconnect();
});

const record = (createdAtMs: number, extra: Partial<BroadcastRecord> = {}): BroadcastRecord => ({
  id: newBroadcastId(),
  type: 'pause-role',
  payload: { role: 'echo' },
  createdAt: new Date(createdAtMs).toISOString(),
  expected: ['w1', 'w2'],
  signature: { kid: 'k', alg: 'HMAC-SHA256', value: '0'.repeat(64) },
  ...extra,
});

describe('BroadcastStore', () => {
  it('keeps a broadcast for its retention, announces its id, and collects one acknowledgement per worker', async () => {
    const announced: string[] = [];
    subscriber.on('message', (_channel: string, id: string) => announced.push(id));
    await subscriber.subscribe(keys.broadcastChannel);
    const made = record(Date.now());
    await store.create(made);
    for (let waited = 0; announced.length === 0 && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(announced).toEqual([made.id]);
    expect(await redis.pttl(keys.broadcast(made.id))).toBeGreaterThan(RETENTION_MS - 5000);
    expect(keys.broadcast(made.id).startsWith(`${prefix}{~broadcasts}:`)).toBe(true);

    expect(await store.ack(made.id, { workerId: 'w2', at: '2030-01-01T00:00:02.000Z', result: { active: 0 } })).toBe(true);
    expect(await store.ack(made.id, { workerId: 'w1', at: '2030-01-01T00:00:01.000Z', error: { code: 'TIMEOUT', message: 'slow' } })).toBe(true);
    // Acknowledging again replaces the worker's acknowledgement.
    expect(await store.ack(made.id, { workerId: 'w2', at: '2030-01-01T00:00:03.000Z', result: { active: 1 } })).toBe(true);
    const view = await store.view(made.id);
    expect(view).toEqual({
      id: made.id,
      type: 'pause-role',
      payload: { role: 'echo' },
      createdAt: made.createdAt,
      expected: ['w1', 'w2'],
      acks: [
        { workerId: 'w1', at: '2030-01-01T00:00:01.000Z', error: { code: 'TIMEOUT', message: 'slow' } },
        { workerId: 'w2', at: '2030-01-01T00:00:03.000Z', result: { active: 1 } },
      ],
    });
    // The acknowledgements expire with their broadcast.
    const [acksTtl, recordTtl] = await Promise.all([redis.pttl(keys.broadcastAcks(made.id)), redis.pttl(keys.broadcast(made.id))]);
    expect(acksTtl).toBeGreaterThan(0);
    expect(Math.abs(acksTtl - recordTtl)).toBeLessThan(1000);
  });

  it('does not acknowledge a broadcast that is gone, nor one never made', async () => {
    const gone = record(Date.now());
    await store.create(gone);
    await redis.del(keys.broadcast(gone.id));
    expect(await store.ack(gone.id, { workerId: 'w1', at: new Date().toISOString() })).toBe(false);
    expect(await redis.exists(keys.broadcastAcks(gone.id))).toBe(0);
    expect(await store.view(gone.id)).toBeUndefined();
    expect(await store.view(newBroadcastId())).toBeUndefined();
  });

  it('lists newest first across pages, ties of one millisecond included, and drops what is past the retention', async () => {
    const own = new BroadcastStore(redis, new TaskyardKeys(`${prefix}-list`), RETENTION_MS);
    const now = Date.now();
    const made = [record(now - 3000), record(now - 2000), record(now - 2000), record(now - 2000), record(now - 1000)];
    for (const one of made) await own.create(one, now);
    // One made before the retention (as if its index entry had outlived it).
    await redis.zadd(new TaskyardKeys(`${prefix}-list`).broadcastIndex, now - RETENTION_MS - 1, newBroadcastId());
    const seen: string[] = [];
    let after = undefined as ReturnType<typeof decodeBroadcastCursor>;
    for (let page = 0; page < 10; page++) {
      const { items, last } = await own.list(2, after);
      seen.push(...items.map((item) => item.id));
      if (!last) break;
      after = decodeBroadcastCursor(encodeBroadcastCursor(last));
    }
    const tiesByIdDescending = made.slice(1, 4).map((one) => one.id).sort().reverse();
    expect(seen).toEqual([made[4]!.id, ...tiesByIdDescending, made[0]!.id]);
    const ownKeys = await redis.keys(`${prefix}-list{*`);
    await redis.del(...ownKeys);
  });

  it('answers the broadcasts since a time, oldest first and bounded', async () => {
    const own = new BroadcastStore(redis, new TaskyardKeys(`${prefix}-since`), RETENTION_MS);
    const now = Date.now();
    const made = [record(now - 3000), record(now - 2000), record(now - 1000)];
    for (const one of made) await own.create(one, now);
    expect((await own.since(now - 2500, 10)).map((position) => position.id)).toEqual([made[1]!.id, made[2]!.id]);
    expect(await own.since(now - 5000, 1)).toEqual([{ id: made[0]!.id, createdAtMs: now - 3000 }]);
    await redis.del(...(await redis.keys(`${prefix}-since{*`)));
  });

  it('stores log levels: one role’s beside the deployment’s, and a deployment-wide level replaces them all', async () => {
    expect(await store.logLevels()).toEqual({ all: undefined, roles: {} });
    await store.setLogLevel('debug', 'echo');
    await store.setLogLevel('warn');
    expect(await store.logLevels()).toEqual({ all: 'warn', roles: {} });
    await store.setLogLevel('trace', 'echo');
    await redis.hset(keys.logLevels, 'docs.ingest', 'not-a-level');
    expect(await store.logLevels()).toEqual({ all: 'warn', roles: { echo: 'trace' } });
  });

  it('refuses a cursor it did not make', () => {
    expect(decodeBroadcastCursor('not a cursor')).toBeUndefined();
    expect(decodeBroadcastCursor(Buffer.from('[1]').toString('base64url'))).toBeUndefined();
    expect(decodeBroadcastCursor(encodeBroadcastCursor({ createdAtMs: 5, id: 'bc_x' }))).toEqual({ createdAtMs: 5, id: 'bc_x' });
  });
});
