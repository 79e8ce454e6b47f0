import { TaskyardError } from './taskyard-error';

/**
 * Every way a message can be refused on its way into a queue, and what each edge makes of it:
 * the API answers `apiCode` (its status is in the API's error registry), a worker fails the
 * sending task with `taskCode` (permanent unless `retryable`: a full queue drains).
 */
export const DISPATCH_FAILURES = {
  /** No such role in this deployment. */
  UNKNOWN_ROLE: { apiCode: 'UNKNOWN_ROLE', taskCode: 'UNKNOWN_ROLE', retryable: false },
  /** No role subscribes to the topic. */
  UNKNOWN_TOPIC: { apiCode: 'UNKNOWN_TOPIC', taskCode: 'UNKNOWN_TOPIC', retryable: false },
  /** The role's acceptFrom does not name the sender. */
  FORBIDDEN: { apiCode: 'FORBIDDEN', taskCode: 'SEND_FORBIDDEN', retryable: false },
  /** The payload does not match the role's input schema or is nested too deeply (in a batch: or its role is unknown). */
  INVALID: { apiCode: 'VALIDATION_FAILED', taskCode: 'SEND_INVALID', retryable: false },
  /** The role's maxQueueDepth would be crossed. */
  QUEUE_FULL: { apiCode: 'QUEUE_FULL', taskCode: 'QUEUE_FULL', retryable: true },
} as const;

export type DispatchFailure = keyof typeof DISPATCH_FAILURES;

/** Seconds a refused sender should wait after QUEUE_FULL: a queue drains at its workers' pace, which the sender cannot know. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/**
 * A message the dispatcher refused. `details` is the machine-readable part (the field, the
 * role's acceptFrom, the queue depth); `index` names the message inside a batch or fan-out.
 */
export class DispatchError extends TaskyardError {
  declare readonly code: DispatchFailure;

  constructor(
    failure: DispatchFailure,
    message: string,
    readonly details?: unknown,
  ) {
    super(failure, message);
  }

  get failure(): (typeof DISPATCH_FAILURES)[DispatchFailure] {
    return DISPATCH_FAILURES[this.code];
  }
}
