import { z } from 'zod';
import { TaskyardError } from './errors/taskyard-error';

export const TASK_STATES = ['queued', 'delayed', 'active', 'completed', 'failed', 'cancelled'] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

/**
 * The task lifecycle. `active → delayed` is a failed attempt waiting out its backoff and
 * `delayed → active` its next attempt; `active → queued` is a stalled job (its worker died or
 * lost its lock) taken back by BullMQ. `cancelled` is DELETE /v1/tasks/:id: a queued or delayed
 * task is removed before it runs; an active one is aborted.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = Object.freeze({
  queued: ['active', 'cancelled'],
  delayed: ['queued', 'active', 'cancelled'],
  active: ['completed', 'failed', 'delayed', 'queued', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
});

export const INITIAL_TASK_STATES: readonly TaskState[] = ['queued', 'delayed'];

export class InvalidTransitionError extends TaskyardError {
  constructor(
    readonly from: TaskState | null,
    readonly to: TaskState,
  ) {
    super('INVALID_TRANSITION', `a task cannot go from ${from ?? '(new)'} to ${to}`);
  }
}

export function canTransition(from: TaskState | null, to: TaskState): boolean {
  return from === null ? INITIAL_TASK_STATES.includes(to) : TASK_TRANSITIONS[from].includes(to);
}

export function isTerminal(state: TaskState): boolean {
  return TASK_TRANSITIONS[state].length === 0;
}

export const TaskHistoryEntrySchema = z.object({
  state: TaskStateSchema,
  at: z.iso.datetime(),
  attempt: z.number().int().min(0).optional(),
  reason: z.string().optional(),
});
export type TaskHistoryEntry = z.infer<typeof TaskHistoryEntrySchema>;

/**
 * Builds a history one validated transition at a time; an impossible sequence throws rather
 * than producing a history that lies.
 */
export class TaskHistory {
  private readonly entries: TaskHistoryEntry[] = [];

  get state(): TaskState | null {
    return this.entries.at(-1)?.state ?? null;
  }

  transition(to: TaskState, at: number, extra: { attempt?: number; reason?: string } = {}): this {
    if (!canTransition(this.state, to)) throw new InvalidTransitionError(this.state, to);
    this.entries.push({ state: to, at: new Date(at).toISOString(), ...extra });
    return this;
  }

  toJSON(): TaskHistoryEntry[] {
    return [...this.entries];
  }
}
