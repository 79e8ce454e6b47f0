import { PermanentTaskError } from './permanent-task-error';

/** The error code of a cancelled attempt: never retried, never dead-lettered. */
export const CANCELLED_CODE = 'CANCELLED';

/**
 * The task was cancelled (DELETE /v1/tasks/:id): an active attempt is aborted with this as its
 * AbortSignal's reason, and a worker that finds the cancellation in the ledger before running
 * the handler fails the attempt with it. Permanent, so BullMQ makes no further attempt.
 */
export class CancelledError extends PermanentTaskError {
  constructor(message = 'the task was cancelled (DELETE /v1/tasks/:id)') {
    super(message, CANCELLED_CODE);
  }
}
