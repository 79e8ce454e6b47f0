import type { z } from 'zod';
import {
  DEFAULT_ROLE_SETTINGS,
  RoleNameSchema,
  RoleSettingsSchema,
  type Fair,
  type RoleSettings,
  type TaskMessage,
} from '@taskyard/contracts';
import { broadcastHandlerProblems, type AnyBroadcastHandlers, type BroadcastHandlers } from './broadcasts';
import type { HandlerOutcome } from './outcomes';
import { poolProblems, type AnyPoolSpec } from './pools';
import type { TaskContext } from './task-context';
import { topicName, type AnyTopic } from './topics';

/** A handler: the frozen, verified message and its context in; its result (or an outcome) out. */
export type RoleHandler<I, O> = (message: TaskMessage<I>, ctx: TaskContext) => Promise<O | HandlerOutcome>;

/** One message of a batch, with the context of its own attempt (its sends, `once`, progress, log). */
export interface BatchEntry<I> {
  readonly message: TaskMessage<I>;
  readonly ctx: TaskContext;
}

/**
 * What a batch handler answers for one message: its result, an outcome (`ctx.snooze`,
 * `ctx.cancel`), or an Error — which fails that message alone, as if its handler had thrown it
 * (a TransientTaskError is retried, a PermanentTaskError dead-lettered).
 */
export type BatchOutcome<O> = O | HandlerOutcome | Error;

/** A batch role's handler: up to `batch.size` messages in, one outcome per message out, in order. */
export type BatchHandler<I, O> = (batch: readonly BatchEntry<I>[]) => Promise<readonly BatchOutcome<O>[]>;

export interface RoleDefinition<N extends string = string, I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> extends RoleSettings {
  readonly name: N;
  /** False when the role took the default timeout, which the deployment's MESSAGE_TIMEOUT then replaces. */
  readonly timeoutDeclared: boolean;
  readonly description: string;
  readonly input: I;
  readonly output: O | undefined;
  /** The handler of one message (a batch role's runs its batch handler on a batch of one). */
  readonly handler: RoleHandler<z.output<I>, z.input<O>>;
  /** A batch role's handler (with `batch`): the worker hands it up to `batch.size` messages at once. */
  readonly handleBatch: BatchHandler<z.output<I>, z.input<O>> | undefined;
  /** Pooled resources its handlers borrow with `ctx.use(name, fn)`, by name. */
  readonly pools: Readonly<Record<string, AnyPoolSpec>>;
  /** Its handlers of broadcast types of its own (POST /v1/broadcasts), by type: run once per worker process that runs the role. */
  readonly onBroadcast: AnyBroadcastHandlers;
}

/** Any role, whatever its name and schemas. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRole = RoleDefinition<string, any, any>;

export interface RoleSpec<N extends string, I extends z.ZodType, O extends z.ZodType> extends Partial<Omit<RoleSettings, 'topics' | 'fair'>> {
  name: N;
  description: string;
  input: I;
  output?: O;
  /** Topics it subscribes to, by name or definition (a deployment may replace them: ROLE_<ROLE>_TOPICS). */
  topics?: readonly (string | AnyTopic)[];
  /** Pooled resources its handlers borrow with `ctx.use(name, fn)` (not for isolated roles). */
  pools?: Readonly<Record<string, AnyPoolSpec>>;
  /**
   * Tenants take turns: `true`, or limits per tenant (`{ tenantConcurrency, tenantRate: { max,
   * durationMs } }`). The tenants with waiting tasks are served in turn, so one tenant's flood
   * does not starve the others; a task's own `options.priority` is refused (the turns order it).
   */
  fair?: boolean | Fair;
}

/** A role takes one message at a time (`handler`) or, with `batch`, several (`handleBatch`). */
export type RoleSpecHandler<I extends z.ZodType, O extends z.ZodType> =
  | { handler: RoleHandler<z.output<I>, z.input<O>>; handleBatch?: never; batch?: never }
  | { handleBatch: BatchHandler<z.output<I>, z.input<O>>; batch: { size: number; maxWaitMs: number }; handler?: never };

/**
 * Broadcast types a role handles (POST /v1/broadcasts): each with its payload's schema and a
 * handler typed by it, e.g. `{ 'cache.flush': { payload: z.object({ prefix: z.string() }), handle: (p) => … } }`.
 */
export interface RoleSpecBroadcasts<B> {
  onBroadcast?: BroadcastHandlers<B>;
}

/**
 * Declares a role once, for both apps: the API validates payloads with `input`, the worker
 * runs `handler` with the settings. Bad settings throw here, naming the role. The name stays a
 * literal type, so a registry of roles knows each one's schemas.
 */
export function defineRole<const N extends string, I extends z.ZodType, O extends z.ZodType = z.ZodUnknown, B = Record<never, never>>(
  spec: RoleSpec<N, I, O> & RoleSpecHandler<I, O> & RoleSpecBroadcasts<B>,
): RoleDefinition<N, I, O> {
  const name = RoleNameSchema.safeParse(spec.name);
  if (!name.success) throw new Error(`role "${spec.name}": ${name.error.issues[0]?.message ?? 'invalid name'}`);
  const settings = RoleSettingsSchema.safeParse({
    concurrency: spec.concurrency ?? DEFAULT_ROLE_SETTINGS.concurrency,
    attempts: spec.attempts ?? DEFAULT_ROLE_SETTINGS.attempts,
    backoff: spec.backoff ?? DEFAULT_ROLE_SETTINGS.backoff,
    timeoutMs: spec.timeoutMs ?? DEFAULT_ROLE_SETTINGS.timeoutMs,
    isolated: spec.isolated ?? DEFAULT_ROLE_SETTINGS.isolated,
    // A role that retries more than the default cap lets its clients ask for as many.
    maxAttempts: spec.maxAttempts ?? Math.max(DEFAULT_ROLE_SETTINGS.maxAttempts, spec.attempts ?? DEFAULT_ROLE_SETTINGS.attempts),
    maxDelayMs: spec.maxDelayMs ?? DEFAULT_ROLE_SETTINGS.maxDelayMs,
    ...(spec.maxAgeMs !== undefined ? { maxAgeMs: spec.maxAgeMs } : {}),
    sensitive: spec.sensitive ?? DEFAULT_ROLE_SETTINGS.sensitive,
    ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}),
    ...(spec.maxQueueDepth !== undefined ? { maxQueueDepth: spec.maxQueueDepth } : {}),
    ...(spec.breaker ? { breaker: spec.breaker } : {}),
    ...(spec.acceptFrom ? { acceptFrom: spec.acceptFrom } : {}),
    ...(spec.topics ? { topics: spec.topics.map(topicName) } : {}),
    ...(spec.batch ? { batch: spec.batch } : {}),
    ...(spec.fair === undefined || spec.fair === false ? {} : { fair: spec.fair === true ? {} : spec.fair }),
  });
  const problems = settings.success ? [] : settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  problems.push(...poolProblems(spec.pools ?? {}));
  // An isolated role's handler runs in child processes that each would hold a pool of their own.
  if (spec.isolated && Object.keys(spec.pools ?? {}).length > 0) problems.push('pools: an isolated role cannot declare pools');
  problems.push(...batchProblems(spec));
  problems.push(...broadcastHandlerProblems(spec.onBroadcast ?? {}));
  if (!settings.success || problems.length > 0) {
    throw new Error(`role "${spec.name}" has invalid settings: ${problems.join('; ')}`);
  }
  const handleBatch = spec.handleBatch;
  return Object.freeze({
    ...settings.data,
    name: spec.name,
    timeoutDeclared: spec.timeoutMs !== undefined,
    description: spec.description,
    input: spec.input,
    output: spec.output,
    handler: handleBatch ? batchOfOne(handleBatch) : spec.handler!,
    handleBatch,
    pools: Object.freeze({ ...spec.pools }),
    onBroadcast: Object.freeze({ ...(spec.onBroadcast as AnyBroadcastHandlers | undefined) }),
  });
}

/** The handler of one message, for a batch role: its batch handler on a batch of one. */
function batchOfOne<I, O>(handleBatch: BatchHandler<I, O>): RoleHandler<I, O> {
  return async (message, ctx) => {
    const [outcome] = await handleBatch([{ message, ctx }]);
    if (outcome instanceof Error) throw outcome;
    return outcome as O | HandlerOutcome;
  };
}

function batchProblems(spec: { handler?: unknown; handleBatch?: unknown; batch?: unknown; isolated?: boolean; timeoutMs?: number }): string[] {
  const problems: string[] = [];
  if (typeof spec.handler !== 'function' && typeof spec.handleBatch !== 'function') problems.push('handler: a role needs a handler (or handleBatch with batch)');
  if (spec.handler !== undefined && spec.handleBatch !== undefined) problems.push('handleBatch: a role has a handler or handleBatch, not both');
  if ((spec.handleBatch === undefined) !== (spec.batch === undefined)) problems.push('batch: handleBatch and batch go together');
  if (spec.batch !== undefined && spec.isolated) problems.push('batch: an isolated role cannot take batches');
  const maxWaitMs = (spec.batch as { maxWaitMs?: number } | undefined)?.maxWaitMs;
  if (maxWaitMs !== undefined && spec.timeoutMs !== undefined && maxWaitMs >= spec.timeoutMs) problems.push('batch.maxWaitMs: must be below timeoutMs (a message waits for its batch within its attempt)');
  return problems;
}

/** Whether `value` is a role made by defineRole (for loaders that take whatever a module exports). */
export function isRoleDefinition(value: unknown): value is AnyRole {
  if (!value || typeof value !== 'object') return false;
  const candidate = value as Partial<AnyRole>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.handler === 'function' &&
    typeof (candidate.input as { safeParse?: unknown } | undefined)?.safeParse === 'function' &&
    typeof candidate.concurrency === 'number'
  );
}
