import { TaskHistory, type CancelledRecord, type MessageRecord, type TaskView } from '@taskyard/contracts';

/**
 * How a task's cancellation record shapes what GET /v1/tasks/:id shows:
 * - no job (a queued or delayed task's job is removed when it is cancelled): the record's view;
 * - a job still queued or delayed (cancelled a moment ago, or its removal failed): cancelled
 *   too; the canceller removes such a job, and a worker that fetches it in between is reached by
 *   the cancel message (or reads the record, for a retry or a handed-back job);
 * - an active job: still active, its abort is under way; a finished one: what BullMQ says
 *   (an aborted attempt fails with code CANCELLED, which toTaskView shows as cancelled);
 * - a failed job that was cancelled before it ran (a workflow's parent, which BullMQ fails for
 *   its cancelled children): cancelled, as it was asked to be.
 */
export function applyCancellation(id: string, view: TaskView | undefined, record: MessageRecord | undefined): TaskView | undefined {
  if (record?.status !== 'cancelled') return view;
  if (!view || view.state === 'queued' || view.state === 'delayed') return cancelledView(id, record);
  if (view.state === 'failed' && record.from !== 'active') return cancelledView(id, record);
  return view;
}

/** The view of a cancelled task from its record alone; its history ends with `cancelled`. */
export function cancelledView(id: string, record: CancelledRecord): TaskView {
  const { task } = record;
  return {
    id,
    role: task.role,
    state: 'cancelled',
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: task.createdAt,
    ...(task.startedAt ? { startedAt: task.startedAt } : {}),
    finishedAt: new Date(record.cancelledAt).toISOString(),
    correlationId: task.correlationId,
    causationId: task.causationId,
    ...(task.owner === undefined ? {} : { owner: task.owner }),
    ...(task.labels === undefined ? {} : { labels: task.labels }),
    ...(task.tenant === undefined ? {} : { tenant: task.tenant }),
    ...(task.workflowId === undefined ? {} : { workflowId: task.workflowId }),
    history: replayHistory(record),
  };
}

/**
 * The stored history plus `cancelled`, replayed through the state machine like every view's; a
 * stored history that does not replay (altered in Redis) is cut to where it was cancelled from.
 */
function replayHistory(record: CancelledRecord): TaskView['history'] {
  try {
    const history = new TaskHistory();
    for (const { state, at, ...extra } of record.task.history) history.transition(state, Date.parse(at), extra);
    return history.transition('cancelled', record.cancelledAt).toJSON();
  } catch {
    const history = new TaskHistory().transition(record.from === 'delayed' ? 'delayed' : 'queued', Date.parse(record.task.createdAt));
    if (record.from === 'active') history.transition('active', record.cancelledAt);
    return history.transition('cancelled', record.cancelledAt).toJSON();
  }
}
