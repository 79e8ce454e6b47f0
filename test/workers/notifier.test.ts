import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '@taskyard/observability';
import { createRedisConnection, type RedisClient, type RedisTarget } from '@taskyard/store';
import { Notifier } from '../../apps/workers/src/notifier';
import { RedisCluster } from '../support/redis-cluster';

const logger = createLogger({ name: 'test', level: 'silent' });

/** A notifier listening on `channel`: resolves `message` with the first message, counts catch-ups. */
async function listening(target: RedisTarget, channel: string, clusterCatchUpMs?: number) {
  const notifier = new Notifier(target, logger, `notifier-test-${channel}`, clusterCatchUpMs);
  let catchUps = 0;
  const waiters: { count: number; done: () => void }[] = [];
  const message = new Promise<string>((resolve) =>
    notifier.listen(channel, resolve, async () => {
      catchUps++;
      for (const waiter of waiters.filter((candidate) => catchUps >= candidate.count)) waiter.done();
    }),
  );
  await notifier.start();
  const catchUpsReach = (count: number) => new Promise<void>((done) => (catchUps >= count ? done() : waiters.push({ count, done })));
  return { notifier, message, catchUps: () => catchUps, catchUpsReach };
}

describe('the notifier on one Redis', () => {
  it('delivers what is published, and caught up once as it started', async () => {
    const target = { redisUrl: inject('redisUrl') };
    const { notifier, message, catchUps } = await listening(target, `nt-${process.pid}-single`, 50);
    const publisher = new Redis(target.redisUrl);
    try {
      await publisher.publish(`nt-${process.pid}-single`, 'hello');
      expect(await message).toBe('hello');
      // Later catch-ups follow reconnects (ioredis says 'ready'): test/api/cancellation.int.test.ts.
      expect(catchUps()).toBe(1);
    } finally {
      publisher.disconnect();
      await notifier.close();
    }
  });
});

describe('the notifier on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let target: RedisTarget;
  let publisher: RedisClient;

  beforeAll(async () => {
    cluster = await new RedisCluster(3).start();
    target = { redisUrl: 'redis://unused:1', redisClusterNodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) };
    publisher = createRedisConnection(target, 'producer', { name: 'notifier-test-publisher' });
    // A producer connection has no offline queue: publish once it is ready.
    if (publisher.status !== 'ready') await once(publisher, 'ready');
  }, 60_000);
  afterAll(async () => {
    publisher?.disconnect();
    await cluster?.destroy();
  });

  it('delivers what is published, and catches up on a timer (ioredis moves its subscriber silently)', async () => {
    const { notifier, message, catchUpsReach } = await listening(target, 'nt-cluster', 100);
    try {
      await publisher.publish('nt-cluster', 'hello');
      expect(await message).toBe('hello');
      // The one at start, then the timer's.
      await catchUpsReach(3);
    } finally {
      await notifier.close();
    }
  });
});
