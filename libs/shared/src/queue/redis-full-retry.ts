import { setTimeout as sleep } from 'node:timers/promises';
import { isRedisFullError } from './redis-errors';

export interface RedisFullRetryOptions {
  /** Called once, at the first refusal (to log it). */
  onFull?: (err: unknown) => void;
  /** The longest pause between two tries. */
  maxDelayMs?: number;
  /**
   * Stop retrying after this long and throw Redis' refusal: a worker must not hold an attempt (and
   * its shutdown) for the whole of a long episode. Default: no limit.
   */
  giveUpAfterMs?: number;
}

/**
 * Runs a write that must not be dropped (a finished task's result) again and again while Redis
 * refuses writes for being full, backing off up to `maxDelayMs`; any other error is thrown at
 * once. Under noeviction a full Redis is a pause, not a failure of the task: counting it as a
 * failed attempt would burn a task's attempts within a second and fail work that succeeded.
 * BullMQ's own completion still works when Redis is full (its script frees the lock first).
 */
export async function retryWhileRedisFull<T>(
  write: () => Promise<T>,
  { onFull, maxDelayMs = 2000, giveUpAfterMs = Number.POSITIVE_INFINITY }: RedisFullRetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + giveUpAfterMs;
  for (let delayMs = 50, tries = 0; ; delayMs = Math.min(delayMs * 2, maxDelayMs), tries += 1) {
    try {
      return await write();
    } catch (err) {
      if (!isRedisFullError(err) || Date.now() + delayMs > deadline) throw err;
      if (tries === 0) onFull?.(err);
      await sleep(delayMs);
    }
  }
}
