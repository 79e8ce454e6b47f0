import { TaskyardError } from './taskyard-error';

/** A failure worth retrying (a downstream hiccup, a timeout): the role's backoff applies. */
export class TransientTaskError extends TaskyardError {
  readonly retryable = true;

  constructor(message: string, code = 'TRANSIENT', options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The handler ran past the role's `timeoutMs`; its AbortSignal has fired. */
export class TaskTimeoutError extends TransientTaskError {
  constructor(readonly timeoutMs: number) {
    super(`task timed out after ${timeoutMs} ms`, 'TIMEOUT');
  }
}
