import { TaskIdSchema, type Redis, type RoleQueues, type TaskView } from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import { toTaskView } from './task-view';

/** Finds a task by id alone: a task's job lives in its role's queue, under the task id. */
export class TaskReader {
  constructor(
    private readonly queues: RoleQueues,
    private readonly redis: Redis,
  ) {}

  async read(id: string): Promise<TaskView> {
    if (!TaskIdSchema.safeParse(id).success) throw notFound(id);
    return withRedis(this.redis, async () => {
      // One HGETALL per role, pipelined on the shared connection: no index to keep in step.
      const jobs = await Promise.all(this.queues.all().map((queue) => queue.getJob(id)));
      const job = jobs.find((candidate) => candidate !== undefined);
      if (!job) throw notFound(id);
      const queue = this.queues.get(job.queueName);
      const [state, logs] = await Promise.all([job.getState(), queue.getJobLogs(id, 0, -1)]);
      const view = toTaskView(job, state, logs.logs);
      if (!view) throw notFound(id);
      return view;
    });
  }
}

function notFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no task with id "${id}" (it may never have existed, or retention removed it)`);
}
