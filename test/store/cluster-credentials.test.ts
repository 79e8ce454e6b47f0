import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeCredentials, createRedisConnection, TaskyardKeys, waitForRedis, type RedisClient, type RedisTarget } from '@taskyard/store';
import { RedisCluster } from '../support/redis-cluster';
import { makeTestCertificates } from '../support/tls-certificates';

// A managed Redis Cluster asks for a password (and often TLS); the seed list has no room for
// them, so every node gets REDIS_URL's.
describe('clusterNodeCredentials', () => {
  it("takes REDIS_URL's user, password and TLS for every node", () => {
    expect(clusterNodeCredentials('redis://app:p%40ss@ignored:6379')).toEqual({ username: 'app', password: 'p@ss' });
    expect(clusterNodeCredentials('rediss://:secret@ignored:6380')).toEqual({ password: 'secret', tls: {} });
    expect(clusterNodeCredentials('redis://127.0.0.1:6379')).toEqual({});
  });

  it('trusts the CA of REDIS_TLS_CA_FILE on every node of a rediss:// cluster', () => {
    const ca = '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n';
    expect(clusterNodeCredentials('rediss://:secret@ignored:6380', ca)).toEqual({ password: 'secret', tls: { ca } });
    expect(clusterNodeCredentials('redis://:secret@ignored:6379', ca)).toEqual({ password: 'secret' });
  });
});

describe('a Redis Cluster that requires a password', () => {
  const password = 'cluster-secret-1';
  let cluster: RedisCluster;
  let nodes: RedisTarget['redisClusterNodes'];

  beforeAll(async () => {
    cluster = await new RedisCluster(3, { password }).start();
    nodes = cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
  }, 60_000);
  afterAll(() => cluster?.destroy());

  it("is used with REDIS_URL's password, by Taskyard's connections and BullMQ's", async () => {
    await expectReachedOnEveryNode({ redisUrl: `redis://:${password}@not-used.invalid:1`, redisClusterNodes: nodes }, 'auth-test', cluster.ports.length);
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

describe('a Redis Cluster over TLS with a private CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskyard-cluster-tls-'));
  const certificates = makeTestCertificates(dir);
  let cluster: RedisCluster;
  let nodes: RedisTarget['redisClusterNodes'];

  beforeAll(async () => {
    cluster = await new RedisCluster(3, { tls: certificates }).start();
    nodes = cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is used over TLS on every node with REDIS_URL's rediss:// and the CA of REDIS_TLS_CA_FILE", async () => {
    const redisTlsCa = readFileSync(certificates.caFile, 'utf8');
    await expectReachedOnEveryNode({ redisUrl: 'rediss://not-used.invalid:1', redisClusterNodes: nodes, redisTlsCa }, 'tls-test', cluster.ports.length);
  });

  it('is not reached without the CA: the certificate is refused', async () => {
    const redis = createRedisConnection({ redisUrl: 'rediss://not-used.invalid:1', redisClusterNodes: nodes }, 'producer', { name: 'tls-test', commandTimeoutMs: 2000 });
    const refused = new Promise<Error>((resolve) => redis.on('error', (err: Error) => resolve(err)));
    try {
      await expect(redis.set('tls:probe', '1')).rejects.toThrow();
      expect((await refused).message).toMatch(/self-signed certificate in certificate chain|Failed to refresh slots cache/);
    } finally {
      redis.disconnect();
    }
  });
});

/** Puts a job in a queue on every master (a role's hash tag decides its slot, the cluster its node) and reads it back: every node must let us in. */
/** Connects to the cluster `target` names and checks that BullMQ's queues work on each of its masters. */
async function expectReachedOnEveryNode(target: RedisTarget, name: string, masters: number): Promise<void> {
  const redis = createRedisConnection(target, 'producer', { name });
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 10_000);
    await expectQueuesOnEveryNode(redis, masters);
  } finally {
    redis.disconnect();
  }
}

async function expectQueuesOnEveryNode(redis: RedisClient, masters: number): Promise<void> {
  const keys = new TaskyardKeys('auth');
  const roles = await rolesOnEveryNode(redis, keys, masters);
  expect(roles).toHaveLength(masters);
  const queues = roles.map((role) => new Queue(keys.queueName(role), { connection: redis, prefix: keys.queuePrefix(role) }));
  try {
    for (const queue of queues) await queue.add(queue.name, { n: 1 }, { jobId: `${queue.name}_1` });
    expect(await Promise.all(queues.map(async (queue) => (await queue.getJob(`${queue.name}_1`))?.data))).toEqual(roles.map(() => ({ n: 1 })));
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

/** Role names whose queues land on `masters` different nodes. */
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
