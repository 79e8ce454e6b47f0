import { WaitingChildrenError } from 'bullmq';
import type { Attempt } from './attempt';

/**
 * Moves the attempt's job to BullMQ's waiting-children and ends the attempt there (its
 * WaitingChildrenError spends no attempt) while some child is pending; returns when none is.
 */
export async function waitForChildren(attempt: Attempt, why: string, fields: Record<string, unknown> = {}): Promise<void> {
  if (await attempt.job.moveToWaitingChildren(attempt.token!)) {
    attempt.log.debug(fields, why);
    throw new WaitingChildrenError();
  }
}
