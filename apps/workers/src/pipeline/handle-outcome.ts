import { DelayedError } from 'bullmq';
import { CancelledError, PermanentTaskError } from '@taskyard/contracts';
import { MAX_SNOOZES, outcomeOf, type Outcome } from '@taskyard/roles';
import type { Attempt } from './attempt';
import type { FailureRecorder } from './failure-recorder';

/**
 * A snooze on its way to BullMQ: the job was moved to delayed (moveToDelayed, which spends no
 * attempt), and BullMQ's DelayedError tells the worker to leave it there.
 */
export class SnoozedError extends DelayedError {
  constructor(
    readonly delayMs: number,
    readonly reason: string | undefined,
  ) {
    super(`snoozed for ${delayMs} ms${reason ? `: ${reason}` : ''}`);
    this.name = 'DelayedError';
  }
}

/**
 * Step 6, outcomes: what a handler returned instead of a result (`snooze(...)`, `cancel(...)` of @taskyard/roles).
 * A snooze moves the job to delayed without spending an attempt (BullMQ's moveToDelayed +
 * DelayedError), at most MAX_SNOOZES times per task (deliveries that spent no attempt: a stalled
 * delivery counts too); past that the task fails permanently (SNOOZE_LIMIT). A cancel ends the
 * task as cancelled. A fan-out adds the children and waits for them (see fanOutAndWait); its
 * runs count as snoozes too, so a handler that fans out on every run stops at MAX_SNOOZES. A
 * result passes through.
 */
export async function handleOutcome(
  attempt: Attempt,
  result: unknown,
  failures: Pick<FailureRecorder, 'snoozed'>,
  fanOut: (attempt: Attempt, outcome: Outcome & { kind: 'fan-out' }) => Promise<never>,
  /** A fair role's: how often the task was deferred for its tenant (those deliveries are no snoozes). */
  deferralsOf?: (taskId: string) => Promise<number>,
): Promise<unknown> {
  const outcome = outcomeOf(result);
  if (!outcome) return result;
  if (outcome.kind === 'cancel') throw new CancelledError(`cancelled by its handler: ${outcome.reason}`);
  const { job, token } = attempt;
  let unspent = job.attemptsStarted - job.attemptsMade - 1;
  // Read only near the limit: most tasks never come close.
  if (unspent >= MAX_SNOOZES && deferralsOf) unspent -= await deferralsOf(attempt.taskId);
  if (unspent >= MAX_SNOOZES) {
    throw new PermanentTaskError(`the task snoozed or waited for children ${unspent} times, the most one task may (${MAX_SNOOZES})`, 'SNOOZE_LIMIT');
  }
  if (outcome.kind === 'fan-out') return fanOut(attempt, outcome);
  // The record goes first, as for a failed attempt: once the job is delayed, its history says why.
  await failures.snoozed(attempt, outcome.delayMs, outcome.reason);
  await job.moveToDelayed(Date.now() + outcome.delayMs, token);
  throw new SnoozedError(outcome.delayMs, outcome.reason);
}
