import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { inject } from 'vitest';

export const TEST_API_KEY = { id: 'test', secret: 'test-secret-0123456789abcdef' };
export const TEST_SIGNING_KEY = { id: 'k1', secret: 'signing-secret-0123456789abcdef' };

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** Seed nodes (`host:port,...`) when the suite runs against a Redis Cluster; '' otherwise. */
    redisClusterNodes: string;
  }
}

/**
 * Environment for one test file's platform: the suite's Redis (or cluster), a key prefix of its
 * own, and test keys. Pass it to loadConfig and to spawned worker processes alike.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const clusterNodes = inject('redisClusterNodes');
  return {
    NODE_ENV: 'test',
    REDIS_URL: inject('redisUrl'),
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    QUEUE_PREFIX: `t-${randomBytes(4).toString('hex')}`,
    API_KEYS: `${TEST_API_KEY.id}:${TEST_API_KEY.secret}`,
    SIGNING_KEYS: `${TEST_SIGNING_KEY.id}:${TEST_SIGNING_KEY.secret}`,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    ...overrides,
  };
}

/** A connection to the suite's Redis for a test to look behind the platform's back: a Cluster client on a cluster. */
export function testRedis(options: RedisOptions = {}): Redis | Cluster {
  const clusterNodes = inject('redisClusterNodes');
  if (!clusterNodes) return new Redis(inject('redisUrl'), options);
  const nodes = clusterNodes.split(',').map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) }));
  return new Cluster(nodes, { redisOptions: options });
}

/**
 * Deletes every key of a deployment under `prefix`: its own (`<prefix>:…`) and its roles'
 * (`<prefix>{<role>}:…`), on every node of a cluster. A no-op on a private test Redis, polite on
 * a shared one.
 */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const clusterNodes = inject('redisClusterNodes');
  const servers = clusterNodes ? clusterNodes.split(',').map((node) => `redis://${node}`) : [redisUrl];
  for (const url of servers) {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      for (const pattern of [`${prefix}:*`, `${prefix}{*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          // One key at a time: on a cluster node each may be in another slot.
          if (keys.length > 0) await Promise.all(keys.map((key) => redis.unlink(key)));
        } while (cursor !== '0');
      }
    } finally {
      redis.disconnect();
    }
  }
}
