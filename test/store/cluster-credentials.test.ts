import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeCredentials, createRedisConnection, TaskyardKeys, waitForRedis, type RedisClient, type RedisTarget } from '@taskyard/store';
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
    redis.on('error', () => undefined);
    await waitForRedis(redis, 10_000);
    const keys = new TaskyardKeys('auth');
    // One role on each master (its hash tag's slot decides where its queue lives): every node must let us in.
    const roles = await rolesOnEveryNode(redis, keys, cluster.ports.length);
    expect(roles).toHaveLength(cluster.ports.length);
    const queues = roles.map((role) => new Queue(keys.queueName(role), { connection: redis, prefix: keys.queuePrefix(role) }));
    try {
      for (const queue of queues) await queue.add(queue.name, { n: 1 }, { jobId: `${queue.name}_1` });
      expect(await Promise.all(queues.map(async (queue) => (await queue.getJob(`${queue.name}_1`))?.data))).toEqual(roles.map(() => ({ n: 1 })));
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      redis.disconnect();
    }
  });

  /** Role names whose queues land on `masters` different nodes (a role's hash tag decides its slot, the cluster its node). */
  async function rolesOnEveryNode(redis: RedisClient, keys: TaskyardKeys, masters: number): Promise<string[]> {
    const ranges = await redis.cluster('SLOTS');
    const byNode = new Map<number, string>();
    for (let n = 0; byNode.size < masters && n < 1000; n++) {
      const role = `role-${n}`;
      const slot = Number(await redis.cluster('KEYSLOT', keys.queuePrefix(role)));
      const node = ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
      if (!byNode.has(node)) byNode.set(node, role);
    }
    return [...byNode.values()];
  }

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
