import { DispatchError, PermanentTaskError, QUEUE_FULL_RETRY_AFTER_SECONDS, TransientTaskError } from '@taskyard/contracts';

/**
 * The task edge of the dispatcher's vocabulary (the worker's, and runRole's in @taskyard/testing):
 * a refused `ctx.send`/`ctx.publish` fails the
 * sending task with the refusal's task code, permanently (UNKNOWN_ROLE, UNKNOWN_TOPIC,
 * SEND_FORBIDDEN, SEND_INVALID) or, for a full queue, transiently after QUEUE_FULL's wait.
 * Anything else (Redis down) passes through: the attempt fails transiently as it is.
 */
export function toTaskError(err: unknown): unknown {
  if (!(err instanceof DispatchError)) return err;
  const { taskCode, retryable } = err.failure;
  if (retryable) return new TransientTaskError(err.message, taskCode, { cause: err, retryAfterMs: QUEUE_FULL_RETRY_AFTER_SECONDS * 1000 });
  return new PermanentTaskError(err.message, taskCode, { cause: err });
}
