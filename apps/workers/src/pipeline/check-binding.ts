import { JobBindingError, MessageAgeError, type TaskMessage } from '@taskyard/contracts';

/**
 * Step 2, binding: a verified message is only valid as the job it was made for. The job id is
 * the message id (jobOptionsFor), so a message copied under another job id — to run it again
 * once its ledger record is gone — is refused. Permanent: JOB_ID_MISMATCH.
 */
export function checkJobBinding(jobId: string | undefined, message: TaskMessage): void {
  if (jobId !== message.id) {
    throw new JobBindingError(`job ${String(jobId)} carries message ${message.id}: a message runs only as its own job`);
  }
}

/**
 * Step 2, freshness: a message is refused when it is older than its role's maximum age
 * (maxMessageAgeMs: by default the longest delay a client may ask for plus the retry window) or
 * dated more than `skewMs` in the future (a clock far off, or a message made to outlive its keys).
 * Permanent: MESSAGE_EXPIRED, MESSAGE_FROM_FUTURE.
 */
export function checkFreshness(message: TaskMessage, maxAgeMs: number, skewMs: number, now = Date.now()): void {
  const createdAt = Date.parse(message.createdAt);
  if (!Number.isFinite(createdAt)) throw new MessageAgeError(`message ${message.id} has no valid createdAt`, 'MESSAGE_EXPIRED');
  if (createdAt - now > skewMs) {
    throw new MessageAgeError(`message ${message.id} is dated ${createdAt - now} ms in the future (at most ${skewMs} ms of clock skew is accepted)`, 'MESSAGE_FROM_FUTURE');
  }
  if (now - createdAt > maxAgeMs) {
    throw new MessageAgeError(`message ${message.id} is ${now - createdAt} ms old; its role takes messages up to ${maxAgeMs} ms old`, 'MESSAGE_EXPIRED');
  }
}
