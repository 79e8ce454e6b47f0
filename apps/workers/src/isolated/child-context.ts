import type { TaskId, TaskMessage } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import {
  cancel,
  fanOut,
  PermanentTaskError,
  snooze,
  toWorkflowNodes,
  type ChildFailurePolicy,
  type ChildNode,
  type ChildOutcome,
  type HandlerOutcome,
  type Published,
  type SendOptions,
  type TaskContext,
} from '@taskyard/roles';
import { createRedisConnection, OnceClaims, TaskyardKeys, type LedgerTimings, type RedisClient, type RedisTarget } from '@taskyard/store';
import { runOnce } from '../once/run-once';
import type { ForwardedCall } from './protocol';

/** What every attempt in one child shares: its Redis connection (opened on first use) and the way back to the worker. */
export interface ChildResources {
  redis(): RedisClient;
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

  get redis(): RedisClient {
    return this.resources.redis();
  }

  // Arrow properties, as in the worker's context: handlers may destructure them.
  readonly progress = async (value: number | object): Promise<void> => {
    await this.resources.call({ method: 'progress', args: [value] });
  };

  readonly once = <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    const scope = { claims: new OnceClaims(this.redis, new TaskyardKeys(this.keyPrefix)), taskId: this.message.id, ...this.ledger };
    return runOnce(scope, key, fn);
  };

  // A role or topic given by definition crosses the channel by name: the worker resolves it in its registry.
  readonly send = (async (target: string | { name: string }, payload: unknown, options: SendOptions = {}): Promise<{ id: TaskId }> =>
    (await this.resources.call({ method: 'send', args: [typeof target === 'string' ? target : target.name, payload, options] })) as { id: TaskId }) as TaskContext['send'];

  readonly publish = (async (topic: string | { name: string }, payload: unknown, options: SendOptions = {}): Promise<Published> =>
    (await this.resources.call({ method: 'publish', args: [typeof topic === 'string' ? topic : topic.name, payload, options] })) as Published) as TaskContext['publish'];

  /** Isolated roles declare no pools (defineRole refuses them). */
  readonly use = async (name: string): Promise<never> => {
    throw new PermanentTaskError(`an isolated role has no pools ("${name}")`, 'UNKNOWN_POOL');
  };

  readonly children = (async (role?: string | { name: string }): Promise<ChildOutcome[]> =>
    (await this.resources.call({ method: 'children', args: [typeof role === 'object' ? role.name : role] })) as ChildOutcome[]) as TaskContext['children'];

  readonly snooze = (delayMs: number, reason?: string): HandlerOutcome => snooze(delayMs, reason);

  // The outcome is plain data: the worker adds the children when it gets it back.
  readonly fanOut = (children: readonly ChildNode[], options: { onChildFailure?: ChildFailurePolicy; wave?: number } = {}): HandlerOutcome =>
    fanOut(toWorkflowNodes(children), options.onChildFailure, options.wave);

  readonly cancel = (reason: string): HandlerOutcome => cancel(reason);
}

/** The child's Redis connection, made when a handler first reads `ctx.redis`. */
export function lazyRedis(target: RedisTarget, name: string, log: Logger): { get(): RedisClient; close(): void } {
  let redis: RedisClient | undefined;
  return {
    get() {
      if (!redis) {
        redis = createRedisConnection(target, 'worker', { name });
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
