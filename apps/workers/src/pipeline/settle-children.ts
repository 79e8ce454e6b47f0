import type { TaskMessage } from '@taskyard/contracts';
import type { Attempt } from './attempt';
import { waitForChildren } from './wait-for-children';

/**
 * Step 4, children: a parent BullMQ released while some of its children are still pending — a
 * child failed under `onChildFailure: "continue"` (continueParentOnFailure) — first drops its
 * children that have not started (BullMQ's removeUnprocessedChildren) and waits for the ones
 * running (moveToWaitingChildren): BullMQ completes no job with pending children, and a handler
 * that ran now would see a half-finished set. The parent then runs once, seeing the failure and
 * every child that finished. Only workflow tasks and tasks run again (a fan-out's parent) pay the
 * one read; any other task has no children.
 */
export async function settleChildren(attempt: Attempt, message: TaskMessage): Promise<void> {
  const { job } = attempt;
  if (message.metadata.workflowId === undefined && job.attemptsStarted <= job.attemptsMade + 1) return;
  const { unprocessed = 0 } = await job.getDependenciesCount({ unprocessed: true });
  if (unprocessed === 0) return;
  await job.removeUnprocessedChildren();
  await waitForChildren(attempt, 'a child failed: its children not yet started were dropped, waiting for the ones running', { pending: unprocessed });
}
