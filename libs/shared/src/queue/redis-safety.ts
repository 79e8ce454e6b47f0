import type { Redis } from 'ioredis';

export interface RedisSafetyReport {
  maxmemoryPolicy: string | undefined;
  warnings: string[];
}

/**
 * Queues are only safe when Redis never evicts keys. Reads the policy (CONFIG may be disabled
 * on managed Redis; then we say we could not tell).
 */
export async function checkRedisSafety(redis: Redis): Promise<RedisSafetyReport> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    return { maxmemoryPolicy: undefined, warnings: ['could not read maxmemory-policy (CONFIG disabled?); it must be noeviction'] };
  }
  const warnings =
    policy === 'noeviction'
      ? []
      : [`Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict queued tasks; set it to noeviction`];
  return { maxmemoryPolicy: policy, warnings };
}
