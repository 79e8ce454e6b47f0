import type { JobsOptions } from 'bullmq';
import type { TaskyardConfig } from '../config/load-config';
import type { AnyRole } from '../contracts/role';

export interface TaskJobOptions {
  attempts?: number | undefined;
  delayMs?: number | undefined;
  priority?: number | undefined;
}

/**
 * BullMQ job options for a task: the job id is the message id (so a task is found by id and
 * never enqueued twice), retries follow the role, and retention keeps a finished task readable
 * for the configured age and count, whichever ends first.
 */
export function jobOptionsFor(
  role: AnyRole,
  messageId: string,
  retention: TaskyardConfig['retention'],
  task: TaskJobOptions = {},
): JobsOptions {
  return {
    jobId: messageId,
    attempts: task.attempts ?? role.attempts,
    backoff: { type: 'exponential', delay: role.backoff.delayMs, jitter: role.backoff.jitter },
    ...(task.delayMs ? { delay: task.delayMs } : {}),
    ...(task.priority ? { priority: task.priority } : {}),
    removeOnComplete: { age: retention.ageSeconds, count: retention.count },
    removeOnFail: { age: retention.ageSeconds, count: retention.count },
  };
}
