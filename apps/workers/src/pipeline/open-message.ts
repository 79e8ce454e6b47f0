import type { TaskMessage } from '@taskyard/contracts';
import { openMessage, type MessageSigner } from '@taskyard/crypto';
import type { AnyRole } from '@taskyard/roles';
import type { Attempt } from './attempt';

/**
 * Step 1, trust: Redis is a trust boundary, so the job's data is verified (signature, envelope
 * version, role) and its payload parsed with the role's schema before anything else looks at it.
 * Every failure is permanent (SIGNATURE_INVALID, SCHEMA_INVALID).
 */
export function openAttemptMessage(attempt: Attempt, role: AnyRole, signer: MessageSigner): TaskMessage {
  const message = openMessage(attempt.job.data, role, signer);
  attempt.message = message;
  return message;
}
