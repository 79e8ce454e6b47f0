import type { Job } from 'bullmq';
import type { MessageSigner } from '@taskyard/crypto';
import type { Logger } from '@taskyard/observability';
import type { AnyRole, RoleHandler } from '@taskyard/roles';
import type { TenantSlots } from '@taskyard/store';
import type { AttemptGuard } from '../breaker/circuits';
import { attemptAbortOf } from '../bullmq-worker';
import type { Cancellations } from '../cancellations';
import type { DeadLetterWriter } from '../dead-letter-writer';
import type { EffectsLedger } from '../effects-ledger';
import { createTaskContext, type ContextDeps } from '../task-context';
import type { RoleSeries } from '../worker-metrics';
import { Attempt } from './attempt';
import { checkAccess } from './check-access';
import { checkFreshness, checkJobBinding } from './check-binding';
import { checkOutput } from './check-output';
import { FailureRecorder } from './failure-recorder';
import { fanOutAndWait } from './fan-out';
import { handleOutcome } from './handle-outcome';
import { ledgerGate } from './ledger-gate';
import { openAttemptMessage } from './open-message';
import { recordSuccess } from './record-success';
import { runUnderTimeout } from './run-under-timeout';
import { settleChildren } from './settle-children';
import { takeTenantSlot } from './tenant-gate';

export interface ProcessorDeps {
  signer: MessageSigner;
  ledger: EffectsLedger;
  cancellations: Cancellations;
  context: ContextDeps;
  /** The role's logger. */
  logger: Logger;
  series: RoleSeries;
  deadLetters: DeadLetterWriter;
  /** How the role's handler runs: in this process, or in an isolated child (same signature). */
  handler: RoleHandler<unknown, unknown>;
  /** The role's circuit breaker (a pass-through for roles without one). */
  circuit: AttemptGuard;
  /** The oldest a message of this role may be when taken (maxMessageAgeMs). */
  maxAgeMs: number;
  /** MESSAGE_CLOCK_SKEW_MS: how far in the future a message may be dated. */
  clockSkewMs: number;
  /** A fair role's limits per tenant (free for a role without them). */
  tenantSlots?: TenantSlots | undefined;
}

/**
 * The processor of one role's worker (Sidekiq's processor: a chain of small steps, each one
 * concern, each in its own file with its test):
 *
 *   open and verify → bound to its job, fresh → access → ledger gate → children settled →
 *   tenant limits (a fair role's) → circuit gate → run under timeout → outcome (snooze, cancel,
 *   fan-out) → output check → record
 *
 * and one failure recorder for everything that does not complete. It takes BullMQ's processor
 * signal (three parameters), which cancellations fire through worker.cancelJob (see AttemptAbort).
 */
export function createProcessor(role: AnyRole, deps: ProcessorDeps): (job: Job, token: string | undefined, signal: AbortSignal | undefined) => Promise<unknown> {
  const { signer, ledger, cancellations, context, logger, series, handler, circuit, maxAgeMs, clockSkewMs } = deps;
  const tenantSlots = deps.tenantSlots?.limited ? deps.tenantSlots : undefined;
  const failures = new FailureRecorder(series, deps.deadLetters);
  const fanOut = (attempt: Attempt, outcome: Parameters<typeof fanOutAndWait>[3]) => fanOutAndWait(attempt, role, context.dispatcher, outcome);

  return async (job, token, signal) => {
    const attempt = new Attempt(job, token, attemptAbortOf(signal), logger);
    const debug = logger.isLevelEnabled('debug');
    series.active.inc();
    let releaseSlot: (() => Promise<void>) | undefined;
    try {
      const message = openAttemptMessage(attempt, role, signer);
      checkJobBinding(job.id, message);
      checkFreshness(message, maxAgeMs, clockSkewMs);
      checkAccess(role, message);
      if (debug) attempt.log.debug('task started');
      const earlier = await ledgerGate(attempt, role, message, ledger, cancellations);
      if (!earlier.run) {
        series.duplicatesSkipped.inc();
        attempt.log.info('duplicate delivery of a completed message: completed with the stored result, handler not run');
        return earlier.result;
      }
      await settleChildren(attempt, message);
      if (tenantSlots) releaseSlot = await takeTenantSlot(attempt, message, tenantSlots, series);
      const ctx = createTaskContext(context, role, attempt);
      const result = await circuit(() => runUnderTimeout(role.timeoutMs, attempt.abortHandle, () => handler(message, ctx)));
      const output = checkOutput(role, await handleOutcome(attempt, result, failures, fanOut, tenantSlots && ((taskId) => tenantSlots.deferralsOf(taskId))));
      recordSuccess(attempt, role, output, ledger, series, debug);
      return output;
    } catch (err) {
      throw await failures.failed(attempt, err);
    } finally {
      series.active.dec();
      // Given back before BullMQ hears the attempt ended; a lost release ends with its lease.
      if (releaseSlot) await releaseSlot().catch((err: unknown) => attempt.log.warn({ err }, 'could not give back the tenant slot (it frees when its lease ends)'));
    }
  };
}
