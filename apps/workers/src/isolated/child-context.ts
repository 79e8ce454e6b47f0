import {
  createRedisConnection,
  runOnce,
  TaskyardKeys,
  type LedgerTimings,
  type Logger,
  type Redis,
  type SendOptions,
  type TaskContext,
  type TaskMessage,
} from '@taskyard/shared';
import type { ForwardedCall } from './protocol';

/** What every attempt in one child shares: its Redis connection (opened on first use) and the way back to the worker. */
export interface ChildResources {
  redis(): Redis;
  call(request: ForwardedCall): Promise<unknown>;
}

/**
 * The context a handler gets inside an isolated child. It behaves like the worker's: `progress`,
 * `send` and `publish` are carried out by the worker (which holds the job and the signing keys), `redis`
 * is the child's own connection (which `once` uses too), and `log` writes the worker's JSON
 * lines with the task's fields.
 */
export class ChildTaskContext implements TaskContext {
  constructor(
    readonly log: Logger,
    readonly signal: AbortSignal,
    readonly attempt: number,
    readonly maxAttempts: number,
    readonly keyPrefix: string,
    private readonly message: TaskMessage,
    private readonly ledger: LedgerTimings,
    private readonly resources: ChildResources,
  ) {}

  get redis(): Redis {
    return this.resources.redis();
  }

  // Arrow properties, as in the worker's context: handlers may destructure them.
  readonly progress = async (value: number | object): Promise<void> => {
    await this.resources.call({ method: 'progress', args: [value] });
  };

  readonly once = <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    const scope = { redis: this.redis, keys: new TaskyardKeys(this.keyPrefix), messageId: this.message.id, ...this.ledger };
    return runOnce(scope, key, fn);
  };

  readonly send = async (target: string, payload: unknown, options: SendOptions = {}): Promise<{ id: string }> =>
    (await this.resources.call({ method: 'send', args: [target, payload, options] })) as { id: string };

  readonly publish = async (topic: string, payload: unknown, options: SendOptions = {}): Promise<{ tasks: { id: string; role: string }[] }> =>
    (await this.resources.call({ method: 'publish', args: [topic, payload, options] })) as { tasks: { id: string; role: string }[] };
}

/** The child's Redis connection, made when a handler first reads `ctx.redis`. */
export function lazyRedis(url: string, name: string, log: Logger): { get(): Redis; close(): void } {
  let redis: Redis | undefined;
  return {
    get() {
      if (!redis) {
        redis = createRedisConnection(url, 'worker', { name });
        let down = false;
        // Without a listener ioredis prints every reconnect error to stderr.
        redis.on('error', (err) => {
          if (!down) log.warn({ err }, 'isolated child lost its redis connection');
          down = true;
        });
        redis.on('ready', () => (down = false));
      }
      return redis;
    },
    close() {
      redis?.disconnect();
    },
  };
}
