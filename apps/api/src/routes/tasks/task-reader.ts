import {
  deadLetterPath,
  readMessageRecord,
  TaskIdSchema,
  type DeadLetterStore,
  type Redis,
  type RoleQueues,
  type TaskView,
  type TaskyardKeys,
} from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import { applyCancellation } from './cancelled-view';
import { toTaskView } from './task-view';

/** Finds a task by id alone: a task's job lives in its role's queue, under the task id. */
export class TaskReader {
  constructor(
    private readonly queues: RoleQueues,
    private readonly redis: Redis,
    private readonly deadLetters?: DeadLetterStore,
    /** Where the ledger keeps message records (a cancelled task's job may be gone); none: not read. */
    private readonly keys?: TaskyardKeys,
  ) {}

  async read(id: string): Promise<TaskView> {
    if (!TaskIdSchema.safeParse(id).success) throw notFound(id);
    return withRedis(this.redis, async () => {
      // One HGETALL per role, pipelined on the shared connection: no index to keep in step.
      // The message's ledger record rides along: it tells a cancelled task.
      const [jobs, record] = await Promise.all([
        Promise.all(this.queues.all().map((queue) => queue.getJob(id))),
        this.keys ? readMessageRecord(this.redis, this.keys, id) : undefined,
      ]);
      const found = jobs.find((candidate) => candidate !== undefined);
      if (!found) {
        const cancelled = applyCancellation(id, undefined, record);
        if (cancelled) return cancelled;
        throw notFound(id);
      }
      const queue = this.queues.get(found.queueName);
      // The state is read after the job: a job that finished in between is read again, so a
      // "completed" task always comes with its result. Records are written before a job moves
      // on, so reading them after the state never misses the attempt that led to it.
      const state = await found.getState();
      const stale = (state === 'completed' || state === 'failed') && !found.finishedOn;
      const [job, logs] = await Promise.all([stale ? queue.getJob(id) : found, queue.getJobLogs(id, 0, -1)]);
      if (!job) throw notFound(id);
      const view = applyCancellation(id, toTaskView(job, state, logs.logs), record);
      if (!view) throw notFound(id);
      // Only failed tasks can have a dead letter: one EXISTS for them, nothing for the others.
      if (view.state === 'failed' && (await this.deadLetters?.exists(id))) view.deadLetter = deadLetterPath(id);
      return view;
    });
  }
}

function notFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no task with id "${id}" (it may never have existed, or retention removed it)`);
}
