import type { JobState } from 'bullmq';
import type { QueueCounts, TaskState } from '@taskyard/contracts';

/** BullMQ's job states behind each task state: the one place the two vocabularies meet. */
const BULLMQ_STATES: Readonly<Record<Exclude<TaskState, 'cancelled'>, readonly string[]>> = {
  queued: ['waiting', 'prioritized', 'waiting-children'],
  delayed: ['delayed'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
};

/** BullMQ's states of a task that has not started: what maxQueueDepth counts. */
export const NOT_STARTED_STATES = ['wait', 'paused', 'delayed', 'prioritized'] as const;

const TASK_STATE_OF = new Map<string, TaskState>(
  (Object.entries(BULLMQ_STATES) as [TaskState, readonly string[]][]).flatMap(([task, sources]) =>
    sources.map((source) => [source, task] as const),
  ),
);

/**
 * The task state of a job in BullMQ state `state`; undefined when the job is gone. `cancelled`
 * has no BullMQ state: the task view derives it from the cancellation record.
 */
export function toTaskState(state: JobState | 'unknown' | string): TaskState | undefined {
  return TASK_STATE_OF.get(state);
}

/**
 * The BullMQ states a task in `state` may be found in, for a search to look in (it then reads
 * each task's exact state): a cancelled task may be a removed job ("gone") that its record
 * keeps, or a job BullMQ still holds; a failed one may still be active for the moment between
 * its last attempt's record and BullMQ failing it.
 */
export function bullmqStatesToSearch(state: TaskState): readonly string[] {
  if (state === 'cancelled') return ['gone', 'failed', 'active', 'delayed', ...BULLMQ_STATES.queued];
  if (state === 'failed') return ['failed', 'active'];
  return BULLMQ_STATES[state];
}

/** Folds BullMQ's job counts onto task states. */
export function toTaskCounts(byState: Readonly<Record<string, number>>): QueueCounts {
  const out = {} as QueueCounts;
  for (const [state, sources] of Object.entries(BULLMQ_STATES) as [keyof QueueCounts, readonly string[]][]) {
    out[state] = sources.reduce((sum, source) => sum + (byState[source] ?? 0), 0);
  }
  return out;
}
