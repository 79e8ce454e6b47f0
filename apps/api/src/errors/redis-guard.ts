import type { Redis } from '@taskyard/shared';
import { redisUnavailable } from './api-error';

const UNAVAILABLE_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Command timed out',
  'ECONNREFUSED',
  'ECONNRESET',
  'MaxRetriesPerRequestError',
  'Reached the max retries per request limit',
  'OOM command not allowed',
  'LOADING',
  'READONLY',
  'MISCONF',
];

/** True when `err` means Redis cannot serve us right now (down, restarting, out of memory). */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const text = `${err.name} ${err.message}`;
  return UNAVAILABLE_MESSAGES.some((fragment) => text.includes(fragment));
}

/**
 * Runs a Redis-backed operation for a request: refuses at once when the connection is not
 * ready (so nothing is queued behind the caller's back), and turns outage errors into 503.
 * The connection's own commandTimeout bounds how long a command may hang.
 */
export async function withRedis<T>(redis: Redis, operation: () => Promise<T>): Promise<T> {
  if (redis.status !== 'ready') throw redisUnavailable();
  try {
    return await operation();
  } catch (err) {
    if (isRedisUnavailableError(err) || redis.status !== 'ready') throw redisUnavailable(err);
    throw err;
  }
}
