import type { Redis, Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ChildFailurePolicy, TaskId, WorkflowNode } from '@taskyard/contracts';
import type { AnyRole, RoleDefinition } from './define-role';
import type { HandlerOutcome } from './outcomes';
import type { AnyTopic, TopicDefinition } from './topics';

export interface SendOptions {
  /** Wait this long before the task becomes available (0 to 30 days). */
  delayMs?: number;
  /** 1 is the highest priority; tasks without one go before prioritised ones. */
  priority?: number;
  /** Enqueue no duplicate (see README, "Deduplication"): `send` then returns the queued task's id. */
  dedupe?: { key: string; mode: 'simple' | 'throttle' | 'debounce'; ttlMs?: number };
}

/** The payload a role takes: its input schema's input type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PayloadOf<R> = R extends RoleDefinition<string, infer I, any> ? z.input<I> : unknown;
/** The payload a topic carries. */
export type TopicPayloadOf<T> = T extends TopicDefinition<string, infer S> ? z.input<S> : unknown;

/** The result a role returns: its output schema's input type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OutputOf<R> = R extends RoleDefinition<string, any, infer O> ? z.output<O> : unknown;

export interface Published {
  tasks: { id: TaskId; role: string }[];
}

/** A child of a run-time fan-out: a task of `role`, after its own children if it has any. */
export interface ChildNode {
  role: string;
  payload: unknown;
  options?: Pick<SendOptions, 'delayMs' | 'priority'>;
  /** What this child does when one of its own children fails (default `fail`). */
  onChildFailure?: ChildFailurePolicy;
  children?: readonly ChildNode[];
}

/** A child for `ctx.fanOut`, its payload typed by the role's input schema. */
export function child<R extends AnyRole>(role: R | string, payload: PayloadOf<R>, rest: Omit<ChildNode, 'role' | 'payload'> = {}): ChildNode {
  return { role: typeof role === 'string' ? role : role.name, payload, ...rest };
}

/** How a child ended, as its parent reads it: its result, or (policies `ignore`, `continue`) why it failed. */
export type ChildOutcome<O = unknown> =
  | { readonly taskId: TaskId; readonly role: string; readonly ok: true; readonly result: O }
  | { readonly taskId: TaskId; readonly role: string; readonly ok: false; readonly error: string };

/** The nodes as the fan-out outcome carries them. */
export function toWorkflowNodes(children: readonly ChildNode[]): WorkflowNode[] {
  return children.map((node) => ({
    role: node.role,
    payload: node.payload,
    ...(node.options ? { options: { ...node.options } } : {}),
    ...(node.onChildFailure ? { onChildFailure: node.onChildFailure } : {}),
    ...(node.children ? { children: toWorkflowNodes(node.children) } : {}),
  }));
}

/** What a handler gets beside its message. */
export interface TaskContext {
  /** A logger bound to this task: every line carries taskId, role and correlationId. */
  readonly log: Logger;
  /**
   * Fires when this attempt must stop, and the attempt ends then whether or not the handler
   * does: when the role's `timeoutMs` has passed (`signal.reason` is a TaskTimeoutError; the
   * task is retried) or when the task was cancelled (DELETE /v1/tasks/:id; a CancelledError; not
   * retried). It is BullMQ's processor signal. Pass it to fetch, timers and anything else that
   * takes one, so the work stops too. A worker that is shutting down does not fire it: it waits
   * for running attempts (up to SHUTDOWN_TIMEOUT_MS).
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Reports progress (a percentage or any JSON object), visible in GET /v1/tasks/:id and Bull Board. */
  progress(value: number | object): Promise<void>;
  /**
   * Enqueues a follow-up task as a message derived from this one (same correlation, causation =
   * this task). Given the target's role definition, the payload is typed by its input schema;
   * a role name works for roles defined elsewhere. Refusals fail this task: an unknown role
   * (UNKNOWN_ROLE), a role that does not accept this one (SEND_FORBIDDEN) or a payload it
   * rejects (SEND_INVALID) permanently, a full queue (QUEUE_FULL) transiently.
   */
  send<R extends AnyRole>(role: R, payload: PayloadOf<R>, options?: SendOptions): Promise<{ id: TaskId }>;
  send(role: string, payload: unknown, options?: SendOptions): Promise<{ id: TaskId }>;
  /** Publishes to a topic: one derived task for every role subscribed to it, all checked before any is enqueued. */
  publish<T extends AnyTopic>(topic: T, payload: TopicPayloadOf<T>, options?: SendOptions): Promise<Published>;
  publish(topic: string, payload: unknown, options?: SendOptions): Promise<Published>;
  /**
   * Runs `fn` (a side effect: a payment, an e-mail, a write elsewhere) at most once for this
   * message and `key`, across attempts, redeliveries and replicas, and returns its JSON result;
   * later calls get the stored result without running `fn`. If another attempt holds the effect
   * the task is retried (EFFECT_IN_PROGRESS); if the attempt that held it died inside `fn`, the
   * task fails permanently (EFFECT_IN_DOUBT) rather than risk doing it twice.
   */
  once<T>(key: string, fn: () => T | Promise<T>): Promise<T>;
  /**
   * Borrows a resource of the role's pool `name` for `fn` and returns it to the pool after, also
   * when `fn` throws. Waits at most the pool's `acquireTimeoutMs` (then the attempt fails with a
   * transient POOL_TIMEOUT); a pool the role does not declare fails it permanently (UNKNOWN_POOL).
   */
  use<T, R>(name: string, fn: (resource: T) => R | Promise<R>): Promise<R>;
  /**
   * The children this task waited for (a workflow's, or its own `fanOut`'s) that are finished:
   * each one's result, or the failure a policy `ignore`/`continue` let the task see. Given a role,
   * only that role's children, their results typed by its output schema. Empty on a first run.
   */
  children<R extends AnyRole>(role: R): Promise<ChildOutcome<OutputOf<R>>[]>;
  children(role?: string): Promise<ChildOutcome[]>;
  /**
   * `return ctx.fanOut([child(role, payload), …])`: adds the children under this task (each
   * checked and signed like a send; at most WORKFLOW_MAX_NODES) and waits for them; the handler
   * runs again when they are done, and reads them with `ctx.children()`. A handler is run again
   * as a whole, so it tells a first run from a resumed one by its children. The children's ids
   * follow from this task's and their place, so a run cut short after the add adds none twice;
   * a later fan-out of the same task (a second wave, once the first is done) names its `wave`
   * (2, 3, …), or its children would be the first wave's, already done.
   */
  fanOut(children: readonly ChildNode[], options?: { onChildFailure?: ChildFailurePolicy; wave?: number }): HandlerOutcome;
  /** `return ctx.snooze(ms)`: run again after `ms` without spending an attempt (see HandlerOutcome). */
  snooze(delayMs: number, reason?: string): HandlerOutcome;
  /** `return ctx.cancel(reason)`: end the task now as cancelled (see HandlerOutcome). */
  cancel(reason: string): HandlerOutcome;
  /** The worker's shared Redis connection, for roles that keep state of their own. */
  readonly redis: Redis | Cluster;
  /** Prefix for keys a role writes to Redis, so deployments sharing a Redis stay apart. */
  readonly keyPrefix: string;
}
