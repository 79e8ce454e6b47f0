import { toTaskError, type Dispatcher } from '@taskyard/dispatch';
import type { AnyRole, Outcome } from '@taskyard/roles';
import type { Attempt } from './attempt';
import { SnoozedError } from './handle-outcome';
import { waitForChildren } from './wait-for-children';

/**
 * A handler's `ctx.fanOut(children)`: the children are made and checked like sends (a refusal
 * fails the task as a send's would) and added under the task in one MULTI, then the task waits
 * for them (BullMQ's moveToWaitingChildren + WaitingChildrenError, which spends no attempt). If
 * every child is already done (a run cut short after the add, run again), the task goes back to
 * the queue at once and its handler runs again, reading them with `ctx.children()`.
 */
export async function fanOutAndWait(attempt: Attempt, role: AnyRole, dispatcher: Dispatcher, outcome: Outcome & { kind: 'fan-out' }): Promise<never> {
  try {
    await dispatcher.fanOut({ kind: 'role', role: role.name, parent: attempt.message! }, outcome.onChildFailure, outcome.children, outcome.wave);
  } catch (err) {
    throw toTaskError(err);
  }
  await waitForChildren(attempt, 'waiting for its children', { children: outcome.children.length });
  await attempt.job.moveToDelayed(Date.now(), attempt.token);
  throw new SnoozedError(0, 'its children are already done');
}
