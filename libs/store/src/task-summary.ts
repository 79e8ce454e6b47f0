import { CANCELLED_CODE, parseMessageRecord, parseTaskLog, type TaskState, type TaskSummary } from '@taskyard/contracts';
import { toTaskState } from './bullmq-states';

/**
 * One task as search-tasks.lua answers it: id, score (creation ms), BullMQ state ("gone": no
 * job, a cancellation record keeps it), finishedOn, the metadata JSON, the ledger record, the
 * last line of the job's log.
 */
export type SearchRow = [id: string, score: string, state: string, finishedOn: string, metadata: string, record: string, lastLog: string];

interface SummaryMetadata {
  correlationId?: unknown;
  tenant?: unknown;
  labels?: unknown;
  workflowId?: unknown;
}

/**
 * The summary of a searched task, its state decided as GET /v1/tasks/:id decides it (toTaskView
 * and applyCancellation): a last attempt that failed CANCELLED is cancelled, and so is a queued
 * or delayed task with a cancellation record, or a failed one cancelled before it ran; a last
 * attempt's record read while BullMQ still holds the job active tells how it ended. Undefined
 * for a row that is no task (altered in Redis).
 */
export function toTaskSummary(role: string, [id, score, bullState, finishedOn, metadataJson, rawRecord, lastLog]: SearchRow): TaskSummary | undefined {
  const metadata = parseMetadata(metadataJson);
  if (!metadata || typeof metadata.correlationId !== 'string') return undefined;
  const record = parseMessageRecord(rawRecord);
  const cancelled = record?.status === 'cancelled' ? record : undefined;
  const [last] = lastLog ? parseTaskLog([lastLog]) : [];
  const ended = last?.kind === 'attempt-failed' && !last.willRetry ? last : undefined;

  let state: TaskState | undefined = bullState === 'gone' ? (cancelled ? 'cancelled' : undefined) : toTaskState(bullState);
  if (!state) return undefined;
  let finishedAtMs = bullState === 'gone' ? cancelled?.cancelledAt : finishedOn ? Number(finishedOn) : undefined;
  if ((state === 'failed' || state === 'active') && ended) {
    state = ended.error.code === CANCELLED_CODE ? 'cancelled' : 'failed';
    finishedAtMs ??= ended.failedAt;
  }
  if (cancelled && (state === 'queued' || state === 'delayed' || (state === 'failed' && cancelled.from !== 'active'))) {
    state = 'cancelled';
    finishedAtMs = cancelled.cancelledAt;
  }
  const done = state === 'completed' || state === 'failed' || state === 'cancelled';
  return {
    id,
    role,
    state,
    createdAt: new Date(Number(score)).toISOString(),
    ...(done && finishedAtMs !== undefined && Number.isFinite(finishedAtMs) ? { finishedAt: new Date(finishedAtMs).toISOString() } : {}),
    labels: isStringRecord(metadata.labels) ? metadata.labels : {},
    correlationId: metadata.correlationId,
    ...(typeof metadata.tenant === 'string' ? { tenant: metadata.tenant } : {}),
    ...(typeof metadata.workflowId === 'string' ? { workflowId: metadata.workflowId } : {}),
  };
}

function parseMetadata(json: string): SummaryMetadata | undefined {
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed && typeof parsed === 'object' ? (parsed as SummaryMetadata) : undefined;
  } catch {
    return undefined;
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}
