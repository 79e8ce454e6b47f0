import type { TaskyardConfig } from '@taskyard/config';
import type { RoleSettings } from '@taskyard/contracts';

/** Beyond this a TTL means nothing useful (and 2^attempts backoffs stop being exact numbers). */
const MAX_LEDGER_TTL_MS = 400 * 86_400_000;

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
 * role's). The retry window is every attempt held to its limit, plus one stall (BullMQ puts a job
 * back once before failing it for stalling), plus the longest backoff series: BullMQ's exponential
 * backoff waits delay × 2^(n-1) before attempt n + 1, and its jitter only ever shortens that.
 */
export function ledgerTimings(
  role: Pick<RoleSettings, 'timeoutMs' | 'backoff'>,
  attempts: number,
  config: Pick<TaskyardConfig, 'worker'>,
): LedgerTimings {
  const holdMs = role.timeoutMs + config.worker.lockDurationMs + config.worker.stalledIntervalMs;
  let backoffMs = 0;
  for (let retry = 1; retry < attempts; retry += 1) backoffMs += role.backoff.delayMs * 2 ** (retry - 1);
  const windowMs = (attempts + 1) * holdMs + backoffMs;
  const ttlMs = Math.min(MAX_LEDGER_TTL_MS, windowMs);
  return { holdMs, ttlMs: Math.ceil(ttlMs) };
}
