import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeCredentials, createRedisConnection, TaskyardKeys, type RedisTarget } from '@taskyard/store';
import { RedisCluster } from '../support/redis-cluster';

// A managed Redis Cluster asks for a password (and often TLS); the seed list has no room for
// them, so every node gets REDIS_URL's.
describe('clusterNodeCredentials', () => {
  it("takes REDIS_URL's user, password and TLS for every node", () => {
    expect(clusterNodeCredentials('redis://app:p%40ss@ignored:6379')).toEqual({ username: 'app', password: 'p@ss' });
    expect(clusterNodeCredentials('rediss://:secret@ignored:6380')).toEqual({ password: 'secret', tls: {} });
    expect(clusterNodeCredentials('redis://127.0.0.1:6379')).toEqual({});
  });
});

describe('a Redis Cluster that requires a password', () => {
  const password = 'cluster-secret-1';
  let cluster: RedisCluster;
  let nodes: RedisTarget['redisClusterNodes'];

  beforeAll(async () => {
    cluster = await new RedisCluster(3, password).start();
    nodes = cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
  }, 60_000);
  afterAll(() => cluster?.destroy());

  it("is used with REDIS_URL's password, by Taskyard's connections and BullMQ's", async () => {
    const redis = createRedisConnection({ redisUrl: `redis://:${password}@not-used.invalid:1`, redisClusterNodes: nodes }, 'producer', { name: 'auth-test' });
    const keys = new TaskyardKeys('auth');
    const queues = ['echo', 'docs.store'].map((role) => new Queue(keys.queueName(role), { connection: redis, prefix: keys.queuePrefix(role) }));
    try {
      // Roles in different slots (different nodes, most likely): every node let us in.
      for (const queue of queues) await queue.add(queue.name, { n: 1 }, { jobId: `${queue.name}_1` });
      expect(await Promise.all(queues.map(async (queue) => (await queue.getJob(`${queue.name}_1`))?.data))).toEqual([{ n: 1 }, { n: 1 }]);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      redis.disconnect();
    }
  });

  it('refuses a wrong password with an error, not a hang', async () => {
    const redis = createRedisConnection({ redisUrl: 'redis://:wrong@not-used.invalid:1', redisClusterNodes: nodes }, 'producer', { name: 'auth-test', commandTimeoutMs: 2000 });
    redis.on('error', () => undefined);
    try {
      await expect(redis.set('auth:probe', '1')).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });
});
