import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionKind = 'producer' | 'worker';

export interface RedisConnectionOptions {
  /** A name shown in `CLIENT LIST`, e.g. `taskyard-api`. */
  name: string;
  /**
   * For producers: how long one command may take before it is failed. Together with the
   * disabled offline queue this makes an outage an immediate error instead of a hung request.
   */
  commandTimeoutMs?: number;
}

/**
 * Connections are built for their use:
 * - `producer` (the API): fail fast. No offline queue and no resending after a reconnect, so a
 *   command issued while Redis is away errors at once and is never sent later behind the
 *   caller's back. (A command Redis executed just before dying may still have taken effect:
 *   a 503 means "not confirmed": a client that retries should send an Idempotency-Key, or it may enqueue twice.)
 * - `worker`: never give up (`maxRetriesPerRequest: null`, as BullMQ requires), queue commands
 *   while reconnecting, and ride out a Redis restart.
 */
export function createRedisConnection(url: string, kind: ConnectionKind, options: RedisConnectionOptions): Redis {
  const common: RedisOptions = {
    connectionName: options.name,
    // Reconnect forever, quickly at first, at most every 2 s.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
  const specific: RedisOptions =
    kind === 'producer'
      ? {
          enableOfflineQueue: false,
          // Never resend a command after a reconnect: its caller may already have been told it failed.
          autoResendUnfulfilledCommands: false,
          maxRetriesPerRequest: 1,
          ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
        }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null };
  return new Redis(url, { ...common, ...specific });
}

/** Resolves once `redis` is connected and ready; rejects after `timeoutMs`. */
export function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}
