import type { JobsOptions } from 'bullmq';
import type { Dedupe, RoleSettings, TaskOptions } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';

/**
 * The backoff type of every Taskyard job: BullMQ's exponential backoff with jitter, except that a
 * transient error naming its own delay (TransientTaskError's `retryAfterMs`, a downstream's
 * Retry-After) is retried after that delay. Workers register the strategy (backoffStrategy).
 */
export const TASKYARD_BACKOFF = 'taskyard';

/** Where a job's retry delay comes from (the strategy's inputs). */
export interface JobBackoff {
  type: typeof TASKYARD_BACKOFF;
  /** Delay before the 2nd attempt; it doubles for each attempt after that. */
  delay: number;
  jitter: number;
}

/**
 * BullMQ job options for a task: the job id is the message id (so a task is found by id and
 * never enqueued twice), retries follow the role, and retention keeps a finished task readable
 * for the configured age and count, whichever ends first.
 */
export function jobOptionsFor(
  role: Pick<RoleSettings, 'attempts' | 'backoff'>,
  messageId: string,
  retention: TaskyardConfig['retention'],
  task: TaskOptions = {},
  /** The message's tenant: a dedupe key is the tenant's own. */
  tenant?: string | undefined,
): JobsOptions {
  const backoff: JobBackoff = { type: TASKYARD_BACKOFF, delay: role.backoff.delayMs, jitter: role.backoff.jitter };
  // A debounced task waits its window (the dispatcher refuses a delayMs beside it).
  const delay = task.dedupe?.mode === 'debounce' ? task.dedupe.ttlMs : task.delayMs;
  return {
    jobId: messageId,
    attempts: task.attempts ?? role.attempts,
    backoff,
    ...(delay ? { delay } : {}),
    ...(task.dedupe ? { deduplication: deduplicationOf(task.dedupe, tenant) } : {}),
    ...(task.priority ? { priority: task.priority } : {}),
    removeOnComplete: { age: retention.ageSeconds, count: retention.count },
    removeOnFail: { age: retention.ageSeconds, count: retention.count },
  };
}

/**
 * BullMQ's deduplication for a task's dedupe option. The id is unambiguous per tenant (a tenant
 * cannot meet another's keys) and lives in the role's queue, so it is per role too. Debounce
 * replaces the pending (delayed) task and restarts its window; never `keepLastIfActive`, which
 * would make a job of another message's data later.
 */
function deduplicationOf(dedupe: Dedupe, tenant: string | undefined): NonNullable<JobsOptions['deduplication']> {
  const id = JSON.stringify([tenant ?? null, dedupe.key]);
  if (dedupe.mode === 'simple') return { id };
  if (dedupe.mode === 'throttle') return { id, ttl: dedupe.ttlMs! };
  return { id, ttl: dedupe.ttlMs!, extend: true, replace: true };
}

/**
 * The delay before the next attempt of a job with TASKYARD_BACKOFF after its `attemptsMade`-th
 * failure: `retryAfterMs` when the error names one, else BullMQ's exponential backoff with
 * jitter (delay × 2^(n-1), its jittered part taken off the top, as BullMQ does).
 */
export function taskyardBackoffDelay(attemptsMade: number, backoff: { delay?: number; jitter?: number } | undefined, err: unknown, random = Math.random): number {
  const retryAfterMs = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) return Math.max(0, retryAfterMs);
  const delay = backoff?.delay ?? 0;
  const jitter = backoff?.jitter ?? 0;
  const maxDelay = Math.round(2 ** (attemptsMade - 1) * delay);
  if (jitter <= 0) return maxDelay;
  const minDelay = maxDelay * (1 - jitter);
  return Math.floor(random() * maxDelay * jitter + minDelay);
}
