import { z } from 'zod';
import { AcceptFromSchema } from './access';
import { MAX_TASK_DELAY_MS } from './errors/task-errors';
import { TopicNameSchema } from './identifiers';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const DAY_MS = 86_400_000;

/**
 * The bounds of every numeric role setting, defined once: role definitions are validated with
 * them, and each is also a deployment override, `ROLE_<ROLE>_<SETTING>` with the key in
 * UPPER_SNAKE_CASE (`backoffDelayMs` → `ROLE_ECHO_BACKOFF_DELAY_MS`; see ROLE_SETTING_OVERRIDES).
 */
export const ROLE_SETTING_BOUNDS = {
  /** Jobs at once per worker process. */
  concurrency: int(1, 1000),
  /** Attempts before a task is dead-lettered (a task's `options.attempts` has the same bounds). */
  attempts: int(1, 100),
  /** The most attempts a client may ask for in `options.attempts` (never below `attempts`). */
  maxAttempts: int(1, 100),
  /** The longest `options.delayMs` a client may ask for. */
  maxDelayMs: int(0, MAX_TASK_DELAY_MS),
  /**
   * How old a message may be when a worker takes it (its signed createdAt); older ones are refused
   * (MESSAGE_EXPIRED). Default: the longest delay plus the retry window (see maxMessageAgeMs).
   */
  maxAgeMs: int(60_000, 400 * DAY_MS),
  /** How long one attempt may run. */
  timeoutMs: int(1, DAY_MS),
  /** Delay before the 2nd attempt; it doubles for each attempt after that. */
  backoffDelayMs: int(0, DAY_MS),
  /** 0..1: how much of each delay is randomised, so replicas do not retry in lockstep. */
  backoffJitter: z.number().min(0).max(1),
  /** At most `rateLimitMax` jobs per `rateLimitDurationMs`, across every replica. */
  rateLimitMax: int(1, 1_000_000),
  rateLimitDurationMs: int(1, DAY_MS),
  /** Waiting + delayed + prioritised tasks the role accepts; past it new work is refused (QUEUE_FULL). */
  maxQueueDepth: int(1, 100_000_000),
  /** The breaker opens when at least this share (%) of the calls in its window failed transiently... */
  breakerThresholdPercent: z.number().min(1).max(100),
  /** ...and the window holds at least this many calls. */
  breakerVolume: int(1, 1_000_000),
  /** How long the role stays open (in every replica) before one probe decides. */
  breakerResetMs: int(100, DAY_MS),
  /** The rolling window failures are counted in. */
  breakerWindowMs: int(100, DAY_MS),
  /** A batch role's handler gets up to this many messages at once... */
  batchSize: int(1, 1000),
  /** ...collected for at most this long after the first arrived. */
  batchMaxWaitMs: int(0, 60_000),
  /** A fair role: at most this many of one tenant's tasks run at once, across every replica. */
  tenantConcurrency: int(1, 100_000),
  /** A fair role: at most `tenantRateMax` of one tenant's tasks start per `tenantRateDurationMs`, across every replica. */
  tenantRateMax: int(1, 1_000_000),
  tenantRateDurationMs: int(1, DAY_MS),
} as const;

export type NumericRoleSetting = keyof typeof ROLE_SETTING_BOUNDS;

/** The topics a role subscribes to (in its definition, or ROLE_<ROLE>_TOPICS). */
export const TopicsSchema = z.array(TopicNameSchema).min(1).max(100);

/** The role settings that are lists: overridden as comma-separated values (`ROLE_<ROLE>_ACCEPT_FROM=api:main,role:docs.ingest`). */
export const ROLE_LIST_SETTINGS = {
  /** Who may send the role tasks (`api:<key id>`, `role:<name>`, `api:*`, `role:*`); anyone when absent. */
  acceptFrom: { schema: AcceptFromSchema, example: 'api:main,role:docs.ingest' },
  /** Topics it subscribes to, replacing those it declares. */
  topics: { schema: TopicsSchema, example: 'order.created,order.shipped' },
} as const;

export type ListRoleSetting = keyof typeof ROLE_LIST_SETTINGS;
export type OverridableRoleSetting = NumericRoleSetting | ListRoleSetting;

/** `backoffDelayMs` → `BACKOFF_DELAY_MS`. */
function variableSuffix(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

/** Every `ROLE_<ROLE>_<SUFFIX>` override: the suffix, derived from the setting's key, and the setting it changes. */
export const ROLE_SETTING_OVERRIDES: ReadonlyMap<string, OverridableRoleSetting> = new Map(
  ([...Object.keys(ROLE_SETTING_BOUNDS), ...Object.keys(ROLE_LIST_SETTINGS)] as OverridableRoleSetting[]).map((key) => [variableSuffix(key), key]),
);

export const BackoffSchema = z
  .object({
    type: z.literal('exponential'),
    /** Delay before the 2nd attempt; it doubles for each attempt after that. */
    delayMs: ROLE_SETTING_BOUNDS.backoffDelayMs,
    /** 0..1: how much of each delay is randomised, so replicas do not retry in lockstep. */
    jitter: ROLE_SETTING_BOUNDS.backoffJitter,
  })
  .strict();

export const RateLimitSchema = z
  .object({
    /** At most `max` jobs per `duration` ms, counted across every replica (BullMQ's queue limiter). */
    max: ROLE_SETTING_BOUNDS.rateLimitMax,
    duration: ROLE_SETTING_BOUNDS.rateLimitDurationMs,
  })
  .strict();

export const BreakerSchema = z
  .object({
    errorThresholdPercentage: ROLE_SETTING_BOUNDS.breakerThresholdPercent,
    volumeThreshold: ROLE_SETTING_BOUNDS.breakerVolume,
    resetTimeoutMs: ROLE_SETTING_BOUNDS.breakerResetMs,
    rollingWindowMs: ROLE_SETTING_BOUNDS.breakerWindowMs,
  })
  .strict();

export type Breaker = z.infer<typeof BreakerSchema>;

/** A batch role's batching: its handler gets up to `size` messages, collected for at most `maxWaitMs`. */
export const BatchSchema = z
  .object({
    size: ROLE_SETTING_BOUNDS.batchSize,
    maxWaitMs: ROLE_SETTING_BOUNDS.batchMaxWaitMs,
  })
  .strict();

/**
 * A fair role's turns (see `fair` in defineRole): its tasks are ordered so that every tenant
 * with waiting tasks gets its turn, with optional limits per tenant (tasks without a tenant
 * count as one tenant of their own).
 */
export const FairSchema = z
  .object({
    /** At most this many of one tenant's tasks run at once (across every replica). */
    tenantConcurrency: ROLE_SETTING_BOUNDS.tenantConcurrency.optional(),
    /** At most `max` of one tenant's tasks start per `durationMs` (across every replica). */
    tenantRate: z.object({ max: ROLE_SETTING_BOUNDS.tenantRateMax, durationMs: ROLE_SETTING_BOUNDS.tenantRateDurationMs }).strict().optional(),
  })
  .strict();

export type Fair = z.infer<typeof FairSchema>;

/** Used for the settings a ROLE_<ROLE>_BREAKER_* variable does not give, when the role declared no breaker. */
export const DEFAULT_BREAKER: Breaker = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 30_000,
  rollingWindowMs: 10_000,
});

/** The operational settings of a role; validated when the role is defined, and again with a deployment's overrides. */
export const RoleSettingsSchema = z
  .object({
    concurrency: ROLE_SETTING_BOUNDS.concurrency,
    attempts: ROLE_SETTING_BOUNDS.attempts,
    backoff: BackoffSchema,
    rateLimit: RateLimitSchema.optional(),
    timeoutMs: ROLE_SETTING_BOUNDS.timeoutMs,
    /** Waiting + delayed + prioritised tasks the role accepts; past it the API answers 429 QUEUE_FULL. */
    maxQueueDepth: ROLE_SETTING_BOUNDS.maxQueueDepth.optional(),
    /** A circuit breaker shared by every replica of the role (see apps/workers). */
    breaker: BreakerSchema.optional(),
    /** Run the handler in a child process that is killed at the timeout. */
    isolated: z.boolean(),
    /** A batch role: its handler takes up to `size` messages at once (see defineRole's handleBatch). */
    batch: BatchSchema.optional(),
    /** A fair role: tenants with waiting tasks take turns (see FairSchema); absent: one queue in order of arrival. */
    fair: FairSchema.optional(),
    maxAttempts: ROLE_SETTING_BOUNDS.maxAttempts,
    maxDelayMs: ROLE_SETTING_BOUNDS.maxDelayMs,
    /** Undefined: derived (maxMessageAgeMs). */
    maxAgeMs: ROLE_SETTING_BOUNDS.maxAgeMs.optional(),
    /** Its payloads and results are not shown on the dashboard (redacted). */
    sensitive: z.boolean(),
    /** Who may send it tasks (`api:<key id>`, `role:<name>`, `api:*`, `role:*`); anyone when absent. */
    acceptFrom: ROLE_LIST_SETTINGS.acceptFrom.schema.optional(),
    /** Topics it subscribes to: a message published to one becomes a task of every subscribing role. */
    topics: ROLE_LIST_SETTINGS.topics.schema.optional(),
  })
  .strict();

export type RoleSettings = z.infer<typeof RoleSettingsSchema>;

/** MESSAGE_TIMEOUT (30 s unless configured) replaces `timeoutMs` for roles that declare none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The most attempts a client may ask for, unless the role says otherwise (or its own attempts are more). */
export const DEFAULT_MAX_ATTEMPTS = 10;
/** The longest delay a client may ask for, unless the role says otherwise: 7 days. */
export const DEFAULT_MAX_DELAY_MS = 7 * DAY_MS;

export const DEFAULT_ROLE_SETTINGS: RoleSettings = Object.freeze({
  concurrency: 10,
  attempts: 3,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  maxDelayMs: DEFAULT_MAX_DELAY_MS,
  sensitive: false,
  backoff: Object.freeze({ type: 'exponential' as const, delayMs: 1000, jitter: 0.2 }),
  timeoutMs: DEFAULT_TIMEOUT_MS,
  isolated: false,
});

/** Per-deployment changes to a role's settings (ROLE_<ROLE>_<SETTING>), by setting. */
export type RoleSettingsOverride = Partial<{ [K in NumericRoleSetting]: number } & { [K in ListRoleSetting]: string[] }>;

/**
 * A role's settings with a deployment's overrides applied: a fresh object of settings only (the
 * callers pass whole role definitions, and the settings schema is strict). `defaultTimeoutMs`
 * (MESSAGE_TIMEOUT) replaces the timeout of a role that declared none. A breaker override gives a
 * role without a breaker one, with DEFAULT_BREAKER for the settings it does not name; a rate
 * limit override likewise (1 per second for the part not named).
 */
export function applyRoleOverride(settings: RoleSettings, override: RoleSettingsOverride = {}, defaultTimeoutMs?: number): RoleSettings {
  const rateLimitMax = override.rateLimitMax ?? settings.rateLimit?.max;
  const rateLimitDuration = override.rateLimitDurationMs ?? settings.rateLimit?.duration;
  const maxQueueDepth = override.maxQueueDepth ?? settings.maxQueueDepth;
  const acceptFrom = override.acceptFrom ?? settings.acceptFrom;
  const topics = override.topics ?? settings.topics;
  const breakerOverridden =
    override.breakerThresholdPercent !== undefined ||
    override.breakerVolume !== undefined ||
    override.breakerResetMs !== undefined ||
    override.breakerWindowMs !== undefined;
  const breakerBase = settings.breaker ?? (breakerOverridden ? DEFAULT_BREAKER : undefined);
  const attempts = override.attempts ?? settings.attempts;
  const maxAgeMs = override.maxAgeMs ?? settings.maxAgeMs;
  return {
    concurrency: override.concurrency ?? settings.concurrency,
    attempts,
    maxAttempts: Math.max(attempts, override.maxAttempts ?? settings.maxAttempts),
    maxDelayMs: override.maxDelayMs ?? settings.maxDelayMs,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    sensitive: settings.sensitive,
    timeoutMs: override.timeoutMs ?? defaultTimeoutMs ?? settings.timeoutMs,
    isolated: settings.isolated,
    // Only a batch role batches: the override tunes it, it cannot make a handler take batches.
    ...(settings.batch ? { batch: { size: override.batchSize ?? settings.batch.size, maxWaitMs: override.batchMaxWaitMs ?? settings.batch.maxWaitMs } } : {}),
    // Only a fair role takes turns (its API and workers must agree): the overrides tune its limits.
    ...(settings.fair ? { fair: fairWithOverride(settings.fair, override) } : {}),
    ...(acceptFrom ? { acceptFrom } : {}),
    ...(topics ? { topics } : {}),
    ...(maxQueueDepth !== undefined ? { maxQueueDepth } : {}),
    ...(breakerBase
      ? {
          breaker: {
            errorThresholdPercentage: override.breakerThresholdPercent ?? breakerBase.errorThresholdPercentage,
            volumeThreshold: override.breakerVolume ?? breakerBase.volumeThreshold,
            resetTimeoutMs: override.breakerResetMs ?? breakerBase.resetTimeoutMs,
            rollingWindowMs: override.breakerWindowMs ?? breakerBase.rollingWindowMs,
          },
        }
      : {}),
    backoff: {
      type: settings.backoff.type,
      delayMs: override.backoffDelayMs ?? settings.backoff.delayMs,
      jitter: override.backoffJitter ?? settings.backoff.jitter,
    },
    ...(rateLimitMax !== undefined || rateLimitDuration !== undefined
      ? { rateLimit: { max: rateLimitMax ?? 1, duration: rateLimitDuration ?? 1000 } }
      : {}),
  };
}

/**
 * A fair role's limits with ROLE_<ROLE>_TENANT_* applied; a rate override gives a role without
 * a rate one (1 task per second for the part not named), as the role rate limit does.
 */
function fairWithOverride(fair: Fair, override: RoleSettingsOverride): Fair {
  const tenantConcurrency = override.tenantConcurrency ?? fair.tenantConcurrency;
  const max = override.tenantRateMax ?? fair.tenantRate?.max;
  const durationMs = override.tenantRateDurationMs ?? fair.tenantRate?.durationMs;
  return {
    ...(tenantConcurrency !== undefined ? { tenantConcurrency } : {}),
    ...(max !== undefined || durationMs !== undefined ? { tenantRate: { max: max ?? 1, durationMs: durationMs ?? 1000 } } : {}),
  };
}

/** The lock and stall timings a retry window depends on (the worker's). */
export interface WorkerTimings {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

/**
 * How long a message of `role` with `attempts` attempts can still be (re)delivered once it is
 * first available: every attempt held to its limit (timeout, lock, stall check), plus one stall
 * (BullMQ puts a job back once before failing it for stalling), plus the longest backoff series
 * (delay × 2^(n-1) before attempt n + 1; jitter only shortens it).
 */
export function retryWindowMs(role: Pick<RoleSettings, 'timeoutMs' | 'backoff'>, attempts: number, worker: WorkerTimings): number {
  const holdMs = role.timeoutMs + worker.lockDurationMs + worker.stalledIntervalMs;
  let backoffMs = 0;
  for (let retry = 1; retry < attempts; retry += 1) backoffMs += role.backoff.delayMs * 2 ** (retry - 1);
  return Math.ceil((attempts + 1) * holdMs + backoffMs);
}

/**
 * The oldest a message of `role` may be when a worker takes it: the role's maxAgeMs, or the
 * longest delay a client may ask for plus the retry window of the most attempts it may ask for.
 */
export function maxMessageAgeMs(role: Pick<RoleSettings, 'timeoutMs' | 'backoff' | 'maxAttempts' | 'maxDelayMs' | 'maxAgeMs'>, worker: WorkerTimings): number {
  if (role.maxAgeMs !== undefined) return role.maxAgeMs;
  // Within the setting's own bounds: a long backoff series would otherwise run past any useful (or safe) number.
  const { minValue, maxValue } = ROLE_SETTING_BOUNDS.maxAgeMs;
  return Math.min(maxValue!, Math.max(minValue!, role.maxDelayMs + retryWindowMs(role, role.maxAttempts, worker)));
}
