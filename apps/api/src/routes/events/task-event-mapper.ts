import type { TaskProgressEvent, TaskStateEvent, TaskView } from '@taskyard/contracts';
import type { TaskStore } from '@taskyard/store';
import type { RawTaskEvent } from './role-event-feeds';
import { streamIdMs } from './stream-ids';

export type TaskEvent = { type: 'state'; body: TaskStateEvent } | { type: 'progress'; body: TaskProgressEvent };

/** What a task is known by on the streams that filter (GET /v1/events). */
export interface TaskFacts {
  tenant: string | undefined;
  correlationId: string | undefined;
  workflowId: string | undefined;
}

const STATE_OF: Readonly<Record<string, TaskStateEvent['state']>> = {
  waiting: 'queued',
  'waiting-children': 'queued',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
};

/** Facts kept per process (the newest tasks'): a task's events mostly come close together. */
const FACTS_KEPT = 10_000;

/**
 * Turns BullMQ's events into Taskyard's: each state event names the state GET /v1/tasks/:id
 * shows. Most follow from the event's name; a `failed` (failed, or cancelled while it ran) and a
 * `removed` (a queued task cancelled; a job removed otherwise is no state) are read from the task
 * store, with the error as the task view has it.
 */
export class TaskEventMapper {
  private readonly facts = new Map<string, Promise<TaskFacts | undefined>>();

  constructor(private readonly store: TaskStore) {}

  /** The event a client sees for `raw`, or undefined when it shows nothing new. */
  async map(raw: RawTaskEvent): Promise<TaskEvent | undefined> {
    const base = { taskId: raw.jobId, role: raw.role, at: new Date(streamIdMs(raw.id)).toISOString() };
    if (raw.name === 'progress') {
      const progress = raw.fields['data'];
      if (typeof progress !== 'number' && (typeof progress !== 'object' || progress === null || Array.isArray(progress))) return undefined;
      return { type: 'progress', body: { ...base, progress: progress as TaskProgressEvent['progress'] } };
    }
    const state = STATE_OF[raw.name];
    if (state) return { type: 'state', body: { ...base, state, ...(state === 'completed' ? { result: raw.fields['returnvalue'] } : {}) } };
    if (raw.name !== 'failed' && raw.name !== 'removed') return undefined;
    // A read that fails fails the event: the stream ends and its client resumes (not a wrong state).
    const view = await this.store.read(raw.jobId);
    if (raw.name === 'removed') return view?.state === 'cancelled' ? { type: 'state', body: { ...base, state: 'cancelled' } } : undefined;
    const ended = view?.state === 'cancelled' ? 'cancelled' : 'failed';
    return { type: 'state', body: { ...base, state: ended, ...(ended === 'failed' && view?.error ? { error: view.error } : {}) } };
  }

  /** The tenant, correlation id and workflow of task `taskId` (read once, then kept for a while). */
  factsOf(taskId: string): Promise<TaskFacts | undefined> {
    let facts = this.facts.get(taskId);
    if (!facts) {
      facts = this.store.read(taskId).then(factsFrom);
      // A lookup that found nothing (or failed) is not kept: the task may be added a moment later.
      facts.then(
        (found) => found ?? this.facts.delete(taskId),
        () => this.facts.delete(taskId),
      );
      this.facts.set(taskId, facts);
      if (this.facts.size > FACTS_KEPT) this.facts.delete(this.facts.keys().next().value!);
    }
    return facts;
  }
}

function factsFrom(view: TaskView | undefined): TaskFacts | undefined {
  return view && { tenant: view.tenant, correlationId: view.correlationId, workflowId: view.workflowId };
}
