import type { TaskMessage } from '@taskyard/contracts';
import type { TenantSlot, TenantSlots } from '@taskyard/store';
import type { RoleSeries } from '../worker-metrics';
import type { Attempt } from './attempt';
import { SnoozedError } from './handle-outcome';

/** The first wait of a task whose tenant is at its concurrency limit; it doubles with each wait, up to DEFER_MAX_MS. */
export const DEFER_MIN_MS = 100;
export const DEFER_MAX_MS = 2000;

/**
 * How long a task waits when its tenant is at a limit. At the rate limit: until the window ends,
 * plus up to a quarter of it at random, so the deferred tasks do not all come back at one
 * instant. At the concurrency limit (when a slot frees is not known): DEFER_MIN_MS doubling
 * with the task's earlier waits (`waited`: its deliveries that spent no attempt), up to
 * DEFER_MAX_MS, between half and all of it at random.
 */
export function deferralMs(slot: TenantSlot & { granted: false }, waited: number, random: () => number = Math.random): number {
  if (slot.reason === 'rate') return Math.ceil(slot.retryMs + random() * (slot.retryMs / 4));
  const ceiling = Math.min(DEFER_MAX_MS, DEFER_MIN_MS * 2 ** Math.max(0, Math.min(waited, 10)));
  return Math.ceil(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Step 4b, a fair role's tenant limits (tenantConcurrency, tenantRate): the task takes a slot of
 * its tenant before its handler runs and answers how to give it back when the attempt ends.
 * A tenant at its limit defers the task: it goes back to the queue after deferralMs, without
 * spending an attempt (a snooze, BullMQ's moveToDelayed + DelayedError), and keeps its turn
 * (its priority), so the other tenants' tasks run meanwhile. Roles without limits pass free.
 */
export async function takeTenantSlot(attempt: Attempt, message: TaskMessage, slots: TenantSlots, series: Pick<RoleSeries, 'deferred'>): Promise<() => Promise<void>> {
  const slot = await slots.take(attempt.taskId, attempt.token ?? '', message.metadata.tenant);
  if (slot.granted) return slot.release;
  const { job, token } = attempt;
  const delayMs = deferralMs(slot, job.attemptsStarted - job.attemptsMade - 1);
  series.deferred.inc();
  // Counted apart, so a task that waited for its tenant long may still snooze (MAX_SNOOZES).
  await slots.recordDeferral(attempt.taskId);
  if (attempt.log.isLevelEnabled('debug')) attempt.log.debug({ delayMs, limit: slot.reason, tenant: message.metadata.tenant }, 'tenant at its limit: task deferred');
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new SnoozedError(delayMs, `its tenant is at its ${slot.reason} limit`);
}
