import { UnrecoverableError, WaitingChildrenError } from 'bullmq';
import { CancelledError, errorClassOf, errorCodeOf, MESSAGE_REFUSAL_CODES, type AttemptRecord, type SnoozeRecord } from '@taskyard/contracts';
import type { DeadLetterWriter } from '../dead-letter-writer';
import { isHandBack } from '../breaker/hand-back';
import type { RoleSeries } from '../worker-metrics';
import type { Attempt } from './attempt';
import { SnoozedError } from './handle-outcome';

/**
 * The one place an attempt that did not complete is recorded: the job's log (one line, the
 * task's history reads it), the dead letter of a task that failed for good, the metrics and the
 * log line. It answers the error BullMQ should see: a permanent failure as BullMQ's
 * UnrecoverableError (so BullMQ makes no further attempt), a transient one as it is (its
 * `retryAfterMs`, if any, reaches the backoff strategy), a hand back or a snooze untouched.
 */
export class FailureRecorder {
  constructor(
    private readonly series: RoleSeries,
    private readonly deadLetters: DeadLetterWriter,
  ) {}

  async failed(attempt: Attempt, err: unknown): Promise<Error> {
    const cancelled = attempt.abortReason instanceof CancelledError;
    // A job the circuit handed back goes to the queue untouched (no attempt was made), unless
    // it was cancelled meanwhile: then it ends here, as cancelled.
    if (isHandBack(err) && !cancelled) return err as Error;
    // A snooze or a wait for children spent no attempt: BullMQ moved the job already.
    if (err instanceof SnoozedError || err instanceof WaitingChildrenError) return err;
    const error = isHandBack(err) ? (attempt.abortReason as CancelledError) : err instanceof Error ? err : new Error(String(err));
    const errorClass = errorClassOf(error);
    const willRetry = errorClass === 'transient' && attempt.number < attempt.maxAttempts;
    const code = errorCodeOf(error);
    const isCancel = error instanceof CancelledError;
    (isCancel ? this.series.cancelled : willRetry ? this.series.retried : this.series.failed).inc();
    if (MESSAGE_REFUSAL_CODES.has(code)) this.series.refused(code);
    this.series.duration.observe((Date.now() - attempt.startedAt) / 1000);
    const record: AttemptRecord = {
      kind: 'attempt-failed',
      attempt: attempt.number,
      startedAt: attempt.startedAt,
      failedAt: Date.now(),
      willRetry,
      error: { code, class: errorClass, message: error.message },
    };
    // The dead letter goes first: once the record below (or BullMQ) says failed, it exists, and a
    // crash before BullMQ marks the job failed cannot lose it.
    if (!willRetry) await this.deadLetters.afterLastAttempt(attempt.job, record, attempt.log);
    // One write, on the failure path only: the task's history shows every failed attempt.
    await this.log(attempt, record);
    if (isCancel) attempt.log.info({ code }, 'task cancelled');
    else attempt.log[willRetry ? 'warn' : 'error']({ err: error, code, willRetry }, willRetry ? 'attempt failed, will retry' : 'task failed');
    return withoutStack(errorClass === 'permanent' && !(error instanceof UnrecoverableError) ? unrecoverable(error) : error);
  }

  /** Records a snooze (before the job is moved to delayed, so its history always says why). */
  async snoozed(attempt: Attempt, delayMs: number, reason: string | undefined): Promise<void> {
    const record: SnoozeRecord = {
      kind: 'snoozed',
      attempt: attempt.number,
      startedAt: attempt.startedAt,
      snoozedAt: Date.now(),
      delayMs,
      ...(reason === undefined ? {} : { reason }),
    };
    this.series.snoozed.inc();
    await this.log(attempt, record);
    attempt.log.info({ delayMs, reason }, 'task snoozed');
  }

  private async log(attempt: Attempt, record: AttemptRecord | SnoozeRecord): Promise<void> {
    await attempt.job.log(JSON.stringify(record)).catch((err: unknown) => attempt.log.warn({ err }, 'could not record the attempt in the task log'));
  }
}

/**
 * The error as BullMQ stores it with the job (its `stacktrace`, which Bull Board shows): a copy
 * (same class, code, retryAfterMs, cause) whose stack is name and message only, no file paths of
 * the worker's code. The error itself is left alone (it may be an abort reason a handler still
 * holds, or frozen); the log line above has its whole stack.
 */
function withoutStack(error: Error): Error {
  const descriptors = Object.getOwnPropertyDescriptors(error) as PropertyDescriptorMap;
  descriptors['stack'] = { value: `${error.name}: ${error.message}`, writable: true, configurable: true, enumerable: false };
  descriptors['message'] = { value: error.message, writable: true, configurable: true, enumerable: false };
  return Object.create(Object.getPrototypeOf(error) as object, descriptors) as Error;
}

/** BullMQ's "no further attempt" for a permanent Taskyard error, keeping its message, stack and cause. */
function unrecoverable(error: Error): UnrecoverableError {
  const mapped = new UnrecoverableError(error.message);
  if (error.stack) mapped.stack = error.stack;
  mapped.cause = error;
  return mapped;
}
