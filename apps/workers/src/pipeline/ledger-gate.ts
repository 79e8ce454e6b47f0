import { CancelledError, type TaskMessage } from '@taskyard/contracts';
import type { AnyRole } from '@taskyard/roles';
import type { Cancellations } from '../cancellations';
import { RUN, type EffectsLedger, type LedgerCheck } from '../effects-ledger';
import type { Attempt } from './attempt';

/**
 * Step 3, the ledger: a delivery that may repeat an earlier run (a retry, a redelivery after a
 * stall, a re-injection; always for a breaker role, whose handed-back jobs look new) reads the
 * message's record: a message that completed completes again with its stored result, unrun; a
 * cancelled one fails as cancelled. A first delivery reads nothing, except a workflow's node or a
 * fan-out's child: cancelling a workflow records every node's cancellation before it removes
 * any job, and a removal can set a parent free to run. A cancellation that reached this process
 * before its attempt started is applied here.
 */
export async function ledgerGate(attempt: Attempt, role: AnyRole, message: TaskMessage, ledger: EffectsLedger, cancellations: Cancellations): Promise<LedgerCheck> {
  if (cancellations.takeEarly(message.id)) throw new CancelledError();
  const always = role.breaker !== undefined || message.metadata.workflowId !== undefined || attempt.job.parentKey !== undefined;
  if (!ledger.mustCheck(attempt.job, message.createdAt, { always })) return RUN;
  return ledger.check(message.id);
}
