import { isRedisFullError, isRedisUnavailableError, type RedisClient } from '@taskyard/store';

import { redisFull, redisUnavailable } from './api-error';

/**
 * Runs a Redis-backed operation for a request: refuses at once when the connection is not
 * ready (so nothing is queued behind the caller's back), and turns outage errors into 503
 * (REDIS_FULL when Redis refuses writes at maxmemory, REDIS_UNAVAILABLE otherwise).
 * The connection's own commandTimeout bounds how long a command may hang.
 */
export async function withRedis<T>(redis: RedisClient, operation: () => Promise<T>): Promise<T> {
  if (redis.status !== 'ready') throw redisUnavailable();
  try {
    return await operation();
  } catch (err) {
    if (isRedisFullError(err)) throw redisFull(err);
    if (isRedisUnavailableError(err) || redis.status !== 'ready') throw redisUnavailable(err);
    throw err;
  }
}
