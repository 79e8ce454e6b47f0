import type { Job, JobState } from 'bullmq';
import { toTaskState } from './bullmq-states';
import {
  CANCELLED_CODE,
  parseTaskLog,
  TaskEnvelopeSchema,
  TaskHistory,
  type TaskState,
  type TaskView,
} from '@taskyard/contracts';

/**
 * Derives a task's view from BullMQ's own job fields plus the failed-attempt records: the
 * happy path needs no writes beyond BullMQ's. The history is replayed through the state
 * machine, so it can only contain valid transitions.
 */
export function toTaskView(job: Job, jobState: JobState | 'unknown' | string, logs: readonly string[]): TaskView | undefined {
  const state = toTaskState(jobState);
  if (!state || !job.data || typeof job.data !== 'object') return undefined;
  // Redis is a trust boundary for the reader too: data that is no envelope (altered in Redis,
  // failed by the worker as SCHEMA_INVALID) is shown from BullMQ's own fields, not a 500.
  const parsed = TaskEnvelopeSchema.safeParse(job.data);
  const envelope = parsed.success ? parsed.data : undefined;
  const entries = parseTaskLog(logs);
  const failures = entries.filter((entry) => entry.kind === 'attempt-failed');
  const history = new TaskHistory();
  const initialDelay = job.opts.delay ?? 0;
  history.transition(initialDelay > 0 ? 'delayed' : 'queued', job.timestamp);

  for (const entry of entries) {
    if (history.state !== 'active') history.transition('active', entry.startedAt, { attempt: entry.attempt });
    if (entry.kind === 'snoozed') {
      const reason = `SNOOZED: run again in ${entry.delayMs} ms${entry.reason ? ` (${entry.reason})` : ''}, no attempt spent`;
      history.transition('delayed', entry.snoozedAt, { attempt: entry.attempt, reason });
      continue;
    }
    // An attempt aborted by DELETE /v1/tasks/:id (or cancelled by its handler) fails with code CANCELLED: the task was cancelled.
    const after: TaskState = entry.willRetry ? 'delayed' : entry.error.code === CANCELLED_CODE ? 'cancelled' : 'failed';
    history.transition(after, entry.failedAt, { attempt: entry.attempt, reason: `${entry.error.code}: ${entry.error.message}` });
  }

  const lastEntry = entries.at(-1);
  if (state === 'queued' && history.state === 'delayed') {
    if (!lastEntry) history.transition('queued', job.timestamp + initialDelay);
    else if (lastEntry.kind === 'snoozed') history.transition('queued', lastEntry.snoozedAt + lastEntry.delayMs);
  }

  const lastRecord = failures.at(-1);
  const lastAt = lastEntry ? (lastEntry.kind === 'snoozed' ? lastEntry.snoozedAt : lastEntry.failedAt) : 0;
  const finalAttempt = (lastRecord?.attempt ?? 0) + 1;
  // A last attempt's record is written just before BullMQ fails the job: it may be read while the job is still active.
  const recordEnded = history.state === 'failed' || history.state === 'cancelled';
  if ((state === 'active' || state === 'completed') && history.state !== 'active' && !recordEnded && job.processedOn) {
    history.transition('active', Math.max(job.processedOn, lastAt), { attempt: finalAttempt });
  }
  if (state === 'completed' && job.finishedOn) history.transition('completed', job.finishedOn, { attempt: finalAttempt });
  if (state === 'failed' && history.state !== 'failed' && history.state !== 'cancelled') {
    // Failed without a record (e.g. stalled too often): BullMQ's timestamps tell the end.
    if (history.state !== 'active') history.transition('active', job.processedOn ?? job.timestamp, { attempt: finalAttempt });
    history.transition('failed', job.finishedOn ?? Date.now(), { attempt: finalAttempt, reason: job.failedReason });
  }

  const firstStart = entries[0]?.startedAt ?? job.processedOn;
  const shown: TaskState = history.state === 'cancelled' || (recordEnded && state === 'active') ? history.state! : state;
  const failure = shown === 'failed' ? (lastRecord ?? undefined) : undefined;
  const progress = job.progress;
  return {
    id: envelope?.id ?? String(job.id),
    role: envelope?.role ?? job.name,
    state: shown,
    attempts: state === 'active' ? job.attemptsMade + 1 : job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: envelope?.createdAt ?? new Date(job.timestamp).toISOString(),
    ...(firstStart ? { startedAt: new Date(firstStart).toISOString() } : {}),
    ...(job.finishedOn && (state === 'completed' || state === 'failed')
      ? { finishedAt: new Date(job.finishedOn).toISOString() }
      : recordEnded && lastRecord
        ? // BullMQ has not caught up with the last attempt's record yet: it ended when the record says.
          { finishedAt: new Date(lastRecord.failedAt).toISOString() }
        : {}),
    ...(typeof progress === 'number' ? (progress > 0 ? { progress } : {}) : progress && typeof progress === 'object' ? { progress: progress as Record<string, unknown> } : {}),
    ...(state === 'completed' ? { result: job.returnvalue } : {}),
    ...(shown === 'failed'
      ? {
          error: failure
            ? { code: failure.error.code, class: failure.error.class, message: failure.error.message, attempt: failure.attempt }
            : { code: 'ERROR', class: 'transient' as const, message: job.failedReason ?? 'failed', attempt: job.attemptsMade },
        }
      : {}),
    correlationId: envelope?.metadata.correlationId ?? String(job.id),
    causationId: envelope?.metadata.causationId ?? null,
    ...(envelope ? { labels: envelope.metadata.labels } : {}),
    ...(envelope?.metadata.owner === undefined ? {} : { owner: envelope.metadata.owner }),
    ...(envelope?.metadata.tenant === undefined ? {} : { tenant: envelope.metadata.tenant }),
    ...(envelope?.metadata.workflowId === undefined ? {} : { workflowId: envelope.metadata.workflowId }),
    history: history.toJSON(),
  };
}
