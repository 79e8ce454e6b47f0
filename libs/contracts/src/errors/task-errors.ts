import { TaskyardError, type ErrorClass } from './taskyard-error';

/** The longest wait a handler may ask for (a snooze, a retry after a downstream's Retry-After): 30 days, as `delayMs`. */
export const MAX_TASK_DELAY_MS = 2_592_000_000;

/**
 * A task failure that retrying cannot fix: the attempt fails and no further attempt is made
 * (the worker hands BullMQ an UnrecoverableError for it).
 */
export class PermanentTaskError extends TaskyardError {
  readonly errorClass: ErrorClass = 'permanent';

  constructor(message: string, code = 'PERMANENT', options?: ErrorOptions) {
    super(code, message, options);
  }
}

export interface TransientErrorOptions extends ErrorOptions {
  /**
   * Wait this long before the next attempt instead of the role's backoff (a downstream's
   * Retry-After); bounded by MAX_TASK_DELAY_MS. The attempt still counts.
   */
  retryAfterMs?: number;
}

/** A failure worth retrying (a downstream hiccup, a timeout): the role's backoff applies, or `retryAfterMs`. */
export class TransientTaskError extends TaskyardError {
  readonly errorClass: ErrorClass = 'transient';
  readonly retryAfterMs: number | undefined;

  constructor(message: string, code = 'TRANSIENT', options: TransientErrorOptions = {}) {
    super(code, message, options);
    const { retryAfterMs } = options;
    this.retryAfterMs =
      retryAfterMs === undefined || !Number.isFinite(retryAfterMs) ? undefined : Math.min(MAX_TASK_DELAY_MS, Math.max(0, Math.round(retryAfterMs)));
  }
}

/** The message's HMAC does not match its content, or its key id is unknown. */
export class SignatureError extends PermanentTaskError {
  constructor(message: string) {
    super(message, 'SIGNATURE_INVALID');
  }
}

/** The job data is not a valid task envelope, or the payload does not match the role's schema. */
export class SchemaError extends PermanentTaskError {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message, 'SCHEMA_INVALID');
  }
}

/**
 * The message is not the job's: the BullMQ job id is not the message id (a signed message copied
 * under another job id, to run it again once its ledger record is gone).
 */
export class JobBindingError extends PermanentTaskError {
  constructor(message: string) {
    super(message, 'JOB_ID_MISMATCH');
  }
}

/** The message's signed createdAt is older than its role's maxAgeMs (MESSAGE_EXPIRED) or too far in the future (MESSAGE_FROM_FUTURE). */
export class MessageAgeError extends PermanentTaskError {
  constructor(message: string, code: 'MESSAGE_EXPIRED' | 'MESSAGE_FROM_FUTURE') {
    super(message, code);
  }
}

/**
 * The codes of a message a worker refuses before any handler sees it (counted by
 * taskyard_messages_refused_total): forged or altered, not this role's, from a sender the role
 * does not accept, not this job's, or too old or from the future.
 */
export const MESSAGE_REFUSAL_CODES: ReadonlySet<string> = new Set([
  'SIGNATURE_INVALID',
  'SCHEMA_INVALID',
  'SOURCE_FORBIDDEN',
  'JOB_ID_MISMATCH',
  'MESSAGE_EXPIRED',
  'MESSAGE_FROM_FUTURE',
]);

/** The handler ran past the role's `timeoutMs`; its AbortSignal has fired. */
export class TaskTimeoutError extends TransientTaskError {
  constructor(readonly timeoutMs: number) {
    super(`task timed out after ${timeoutMs} ms`, 'TIMEOUT');
  }
}

/** The error code of a cancelled attempt: never retried, never dead-lettered. */
export const CANCELLED_CODE = 'CANCELLED';

/**
 * The task was cancelled: by DELETE /v1/tasks/:id (an active attempt is aborted with this as its
 * AbortSignal's reason; a worker that finds the cancellation in the ledger fails the attempt
 * with it), or by its own handler (`ctx.cancel(reason)`). Permanent, so no further attempt is made.
 */
export class CancelledError extends PermanentTaskError {
  constructor(message = 'the task was cancelled (DELETE /v1/tasks/:id)') {
    super(message, CANCELLED_CODE);
  }
}

/**
 * The class of any error a handler or the platform raised: Taskyard's own say so; BullMQ's
 * UnrecoverableError (by name, as BullMQ itself checks) is permanent; anything else is transient.
 */
export function errorClassOf(err: unknown): ErrorClass {
  if (err instanceof PermanentTaskError) return 'permanent';
  if (err instanceof TransientTaskError) return 'transient';
  return err instanceof Error && err.name === 'UnrecoverableError' ? 'permanent' : 'transient';
}

/** The stable code of any error: Taskyard's own code, PERMANENT for BullMQ's UnrecoverableError, ERROR for the rest. */
export function errorCodeOf(err: unknown): string {
  if (err instanceof TaskyardError) return err.code;
  return err instanceof Error && err.name === 'UnrecoverableError' ? 'PERMANENT' : 'ERROR';
}
