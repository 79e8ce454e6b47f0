import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TaskMessage } from './envelope';
import { AcceptFromSchema } from './access';
import { RoleNameSchema, TopicNameSchema } from './identifiers';

export const BackoffSchema = z
  .object({
    type: z.literal('exponential'),
    /** Delay before the 2nd attempt; it doubles for each attempt after that. */
    delayMs: z.number().int().min(0).max(86_400_000),
    /** 0..1: how much of each delay is randomised, so replicas do not retry in lockstep. */
    jitter: z.number().min(0).max(1),
  })
  .strict();

export const RateLimitSchema = z
  .object({
    /** At most `max` jobs per `duration` ms, counted across every replica (BullMQ's queue limiter). */
    max: z.number().int().min(1),
    duration: z.number().int().min(1),
  })
  .strict();

export const BreakerSchema = z
  .object({
    /** Open when at least this share (%) of the calls in the rolling window failed transiently... */
    errorThresholdPercentage: z.number().min(1).max(100),
    /** ...and the window holds at least this many calls. */
    volumeThreshold: z.number().int().min(1).max(1_000_000),
    /** How long the role stays open (in every replica) before one probe decides. */
    resetTimeoutMs: z.number().int().min(100).max(86_400_000),
    /** The rolling window failures are counted in. */
    rollingWindowMs: z.number().int().min(100).max(86_400_000),
  })
  .strict();

/** Used for the settings a ROLE_<ROLE>_BREAKER_* variable does not give, when the role declared no breaker. */
export const DEFAULT_BREAKER: Breaker = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 30_000,
  rollingWindowMs: 10_000,
});

/** The topics a role subscribes to (in its definition, or ROLE_<ROLE>_TOPICS). */
export const TopicsSchema = z.array(TopicNameSchema).min(1).max(100);

/** The operational settings of a role; validated when the role is defined. */
export const RoleSettingsSchema = z
  .object({
    concurrency: z.number().int().min(1).max(1000),
    attempts: z.number().int().min(1).max(100),
    backoff: BackoffSchema,
    rateLimit: RateLimitSchema.optional(),
    timeoutMs: z.number().int().min(1).max(86_400_000),
    /** Waiting + delayed + prioritised tasks the role accepts; past it the API answers 429 QUEUE_FULL. */
    maxQueueDepth: z.number().int().min(1).max(100_000_000).optional(),
    /** A circuit breaker shared by every replica of the role (see apps/workers). */
    breaker: BreakerSchema.optional(),
    /** Run the handler in a child process that is killed at the timeout. */
    isolated: z.boolean(),
    /** Who may send it tasks (`api:<key id>`, `role:<name>`, `api:*`, `role:*`); anyone when absent. */
    acceptFrom: AcceptFromSchema.optional(),
    /** Topics it subscribes to: a message published to one becomes a task of every subscribing role. */
    topics: TopicsSchema.optional(),
  })
  .strict();

export type RoleSettings = z.infer<typeof RoleSettingsSchema>;
export type Breaker = z.infer<typeof BreakerSchema>;

/** MESSAGE_TIMEOUT (30 s unless configured) replaces `timeoutMs` for roles that declare none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export const DEFAULT_ROLE_SETTINGS: RoleSettings = Object.freeze({
  concurrency: 10,
  attempts: 3,
  backoff: Object.freeze({ type: 'exponential' as const, delayMs: 1000, jitter: 0.2 }),
  timeoutMs: DEFAULT_TIMEOUT_MS,
  isolated: false,
});

export interface SendOptions {
  delayMs?: number;
  priority?: number;
}

/** What a handler gets beside its message. */
export interface TaskContext {
  /** A logger bound to this task: every line carries taskId, role and correlationId. */
  readonly log: Logger;
  /** Fires when the role's timeoutMs passes or the worker is shutting down past its deadline. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Reports progress (a percentage or any JSON object), visible in Bull Board. */
  progress(value: number | object): Promise<void>;
  /** Enqueues a follow-up task as a message derived from this one (same correlation, causation = this task). */
  send(role: string, payload: unknown, options?: SendOptions): Promise<{ id: string }>;
  /** Publishes to a topic: one derived task for every role subscribed to it (see RoleSettings.topics). */
  publish(topic: string, payload: unknown, options?: SendOptions): Promise<{ tasks: { id: string; role: string }[] }>;
  /** The worker's shared Redis connection, for roles that keep state of their own. */
  readonly redis: Redis;
  /** Prefix for keys a role writes to Redis, so deployments sharing a Redis stay apart. */
  readonly keyPrefix: string;
  /**
   * Runs `fn` (a side effect: a payment, an e-mail, a write elsewhere) at most once for this
   * message and `key`, across attempts, redeliveries and replicas, and returns its JSON result;
   * later calls get the stored result without running `fn`. See runOnce in libs/shared/src/ledger
   * for what happens when another attempt holds the effect or died inside it.
   */
  once<T>(key: string, fn: () => T | Promise<T>): Promise<T>;
}

export type RoleHandler<I, O> = (message: TaskMessage<I>, ctx: TaskContext) => Promise<O>;

export interface RoleDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> extends RoleSettings {
  readonly name: string;
  /** False when the role took the default timeout, which the deployment's MESSAGE_TIMEOUT then replaces. */
  readonly timeoutDeclared: boolean;
  readonly description: string;
  readonly input: I;
  readonly output: O | undefined;
  readonly handler: RoleHandler<z.output<I>, z.input<O>>;
}

export interface RoleSpec<I extends z.ZodType, O extends z.ZodType> extends Partial<RoleSettings> {
  name: string;
  description: string;
  input: I;
  output?: O;
  handler: RoleHandler<z.output<I>, z.input<O>>;
}

/**
 * Declares a role once, for both apps: the API validates payloads with `input`, the worker
 * runs `handler` with the settings. Bad settings throw here, naming the role.
 */
export function defineRole<I extends z.ZodType, O extends z.ZodType = z.ZodUnknown>(
  spec: RoleSpec<I, O>,
): RoleDefinition<I, O> {
  const name = RoleNameSchema.safeParse(spec.name);
  if (!name.success) throw new Error(`role "${spec.name}": ${name.error.issues[0]?.message ?? 'invalid name'}`);
  const settings = RoleSettingsSchema.safeParse({
    concurrency: spec.concurrency ?? DEFAULT_ROLE_SETTINGS.concurrency,
    attempts: spec.attempts ?? DEFAULT_ROLE_SETTINGS.attempts,
    backoff: spec.backoff ?? DEFAULT_ROLE_SETTINGS.backoff,
    timeoutMs: spec.timeoutMs ?? DEFAULT_ROLE_SETTINGS.timeoutMs,
    isolated: spec.isolated ?? DEFAULT_ROLE_SETTINGS.isolated,
    ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}),
    ...(spec.maxQueueDepth !== undefined ? { maxQueueDepth: spec.maxQueueDepth } : {}),
    ...(spec.breaker ? { breaker: spec.breaker } : {}),
    ...(spec.acceptFrom ? { acceptFrom: spec.acceptFrom } : {}),
    ...(spec.topics ? { topics: spec.topics } : {}),
  });
  if (!settings.success) {
    const problems = settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`role "${spec.name}" has invalid settings: ${problems.join('; ')}`);
  }
  return Object.freeze({
    ...settings.data,
    name: spec.name,
    timeoutDeclared: spec.timeoutMs !== undefined,
    description: spec.description,
    input: spec.input,
    output: spec.output,
    handler: spec.handler,
  });
}

/** Any role, whatever its schemas. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRole = RoleDefinition<any, any>;

export class RoleRegistry {
  private readonly byName: ReadonlyMap<string, AnyRole>;

  constructor(roles: readonly AnyRole[]) {
    const byName = new Map<string, AnyRole>();
    for (const role of roles) {
      if (byName.has(role.name)) throw new Error(`role "${role.name}" is registered twice`);
      byName.set(role.name, role);
    }
    this.byName = byName;
  }

  get(name: string): AnyRole | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): AnyRole[] {
    return [...this.byName.values()];
  }

  /**
   * The same roles with a deployment's settings applied (ROLE_<ROLE>_<SETTING>); the result is
   * validated like a role definition, so a bad combination fails at start naming the role.
   */
  withSettings(settingsFor: (role: AnyRole) => RoleSettings): RoleRegistry {
    return new RoleRegistry(
      this.all().map((role) => {
        const settings = RoleSettingsSchema.safeParse(settingsFor(role));
        if (!settings.success) {
          const problems = settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
          throw new Error(`role "${role.name}" has invalid settings: ${problems.join('; ')}`);
        }
        return Object.freeze({ ...role, ...settings.data });
      }),
    );
  }

  /** A registry of just the named roles (e.g. a worker's ROLES). */
  /** The roles subscribed to `topic`, in registration order. */
  subscribersOf(topic: string): AnyRole[] {
    return this.all().filter((role) => role.topics?.includes(topic));
  }

  select(names: readonly string[]): RoleRegistry {
    return new RoleRegistry(names.map((name) => {
      const role = this.byName.get(name);
      if (!role) throw new Error(`unknown role "${name}"`);
      return role;
    }));
  }
}
