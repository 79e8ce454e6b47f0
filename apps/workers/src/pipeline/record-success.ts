import type { AnyRole } from '@taskyard/roles';
import type { EffectsLedger } from '../effects-ledger';
import type { RoleSeries } from '../worker-metrics';
import type { Attempt } from './attempt';

/**
 * Step 8, the record of a completed attempt: the ledger's "done" record (one write, batched with
 * the other completions of this turn; from here on a redelivery completes with this output,
 * unrun) and the metrics. BullMQ's own completion records the rest.
 */
export function recordSuccess(attempt: Attempt, role: AnyRole, output: unknown, ledger: EffectsLedger, series: RoleSeries, debug: boolean): void {
  ledger.recordDone(role, attempt.job, attempt.message!.id, output);
  series.completed.inc();
  series.duration.observe((Date.now() - attempt.startedAt) / 1000);
  if (debug) attempt.log.debug('task completed');
}
