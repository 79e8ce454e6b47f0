import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

export const TEST_API_KEY = { id: 'test', secret: 'test-secret-0123456789abcdef' };
export const TEST_SIGNING_KEY = { id: 'k1', secret: 'signing-secret-0123456789abcdef' };

/**
 * Environment for one test file's platform: the suite's Redis (or `redisUrl`), a key prefix of
 * its own, and test keys. Pass it to loadConfig and to spawned worker processes alike.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    REDIS_URL: inject('redisUrl'),
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

/**
 * Deletes every key of a deployment under `prefix`: its own (`<prefix>:…`) and its roles'
 * (`<prefix>{<role>}:…`). A no-op on a private test Redis, polite on a shared one.
 */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${prefix}:*`, `${prefix}{*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One key at a time: the keys of different roles may live on different cluster nodes.
        if (keys.length > 0) await Promise.all(keys.map((key) => redis.unlink(key)));
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
