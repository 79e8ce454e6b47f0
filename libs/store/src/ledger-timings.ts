import type { TaskyardConfig } from '@taskyard/config';
import { maxMessageAgeMs, retryWindowMs, type RoleSettings } from '@taskyard/contracts';

/** What bounds every record Taskyard keeps: the longest of these lifetimes. */
export type RecordLifetimes = Pick<TaskyardConfig, 'retention' | 'deadLetterTtlMs' | 'idempotencyTtlMs'>;

/**
 * The longest any record Taskyard writes lives: the longest of the task retention age,
 * DEAD_LETTER_TTL and IDEMPOTENCY_TTL. A client cannot stretch one past it (a task asking for
 * many attempts once made its ledger record live 399 days).
 */
export function maxRecordTtlMs(config: RecordLifetimes): number {
  return Math.max(config.retention.ageSeconds * 1000, config.deadLetterTtlMs, config.idempotencyTtlMs);
}

export interface LedgerTimings {
  /**
   * How long a live attempt may hold a job: the role's timeout, plus the lock duration and the
   * stall check that free the job of a worker that died or stopped renewing its lock.
   */
  readonly holdMs: number;
  /**
   * How long ledger entries of one message (its record, its `ctx.once` claims) are kept: the
   * longest time the message can still be (re)delivered. Not the retention age: that would keep an
   * entry per message for a day by default, memory growing with throughput × a day, while BullMQ
   * caps its own finished jobs by count too.
   */
  readonly ttlMs: number;
}

/**
 * The ledger's timings for a message of `role` with `attempts` attempts (a task may override the
 * role's): its records live for the retry window (retryWindowMs), never past maxRecordTtlMs.
 */
export function ledgerTimings(
  role: Pick<RoleSettings, 'timeoutMs' | 'backoff'>,
  attempts: number,
  config: Pick<TaskyardConfig, 'worker'> & RecordLifetimes,
): LedgerTimings {
  const holdMs = role.timeoutMs + config.worker.lockDurationMs + config.worker.stalledIntervalMs;
  const ttlMs = Math.min(maxRecordTtlMs(config), retryWindowMs(role, attempts, config.worker));
  return { holdMs, ttlMs };
}

/**
 * How long a search index entry of a task of `role` may be of use: the longest the task can
 * live (delivered until maxMessageAgeMs, then kept for the retention age), and at least as long
 * as a record that stands for it (a cancellation's).
 */
export function indexWindowMs(role: Parameters<typeof maxMessageAgeMs>[0], config: Pick<TaskyardConfig, 'worker'> & RecordLifetimes): number {
  return Math.max(maxRecordTtlMs(config), maxMessageAgeMs(role, config.worker) + config.retention.ageSeconds * 1000);
}

/** The search index's limits for a deployment: each role's window (indexWindowMs) and TASK_INDEX_MAX_ENTRIES. */
export function taskIndexLimits(
  settingsOf: (role: string) => Parameters<typeof maxMessageAgeMs>[0] | undefined,
  config: Pick<TaskyardConfig, 'worker' | 'taskIndexMaxEntries'> & RecordLifetimes,
): { windowMsOf(role: string): number; maxEntries: number } {
  const windows = new Map<string, number>();
  return {
    windowMsOf(role) {
      let window = windows.get(role);
      if (window === undefined) {
        const settings = settingsOf(role);
        windows.set(role, (window = settings ? indexWindowMs(settings, config) : maxRecordTtlMs(config)));
      }
      return window;
    },
    maxEntries: config.taskIndexMaxEntries,
  };
}
