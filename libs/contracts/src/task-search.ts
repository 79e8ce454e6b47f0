import { z } from 'zod';
import { CorrelationIdSchema, RoleNameSchema, TaskIdSchema, TenantSchema } from './identifiers';
import { decodeListCursor, encodeListCursor } from './list-cursor';
import { TaskStateSchema } from './task-state';

export const DEFAULT_TASK_SEARCH_PAGE = 20;
export const MAX_TASK_SEARCH_PAGE = 100;
/** Label filters one search may combine (each must match). */
export const MAX_TASK_SEARCH_LABELS = 8;

/** `name:value`, a label the task must carry (the name is a label name, so its first ":" ends it). */
const LabelFilterSchema = z.string().max(320).regex(/^[\w./-]{1,63}:[\s\S]{0,256}$/, 'a label filter is name:value, e.g. label=customer:acme');

/** GET /v1/tasks: every filter given must match (labels too: each of them). */
export const TaskSearchQuerySchema = z
  .object({
    role: RoleNameSchema.optional(),
    state: TaskStateSchema.optional(),
    correlationId: CorrelationIdSchema.optional(),
    /** Repeatable: `label=customer:acme&label=tier:gold`. */
    label: z.union([LabelFilterSchema, z.array(LabelFilterSchema).min(1).max(MAX_TASK_SEARCH_LABELS)]).optional(),
    /** Created at or after this time. */
    createdAfter: z.iso.datetime({ offset: true }).optional(),
    /** Created before this time (not at it: `createdAfter=T1&createdBefore=T2` is [T1, T2)). */
    createdBefore: z.iso.datetime({ offset: true }).optional(),
    /** Operator keys: only this tenant's tasks (a tenant key always sees its own only). */
    tenant: TenantSchema.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_TASK_SEARCH_PAGE).default(DEFAULT_TASK_SEARCH_PAGE),
    /** The `nextCursor` of the previous page, with the same filters. */
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();
export type TaskSearchQuery = z.infer<typeof TaskSearchQuerySchema>;

/**
 * The label filters of a query as one record of what must match, or undefined when none can (a
 * name asked for with two values).
 */
export function labelFiltersOf(label: TaskSearchQuery['label']): Record<string, string> | undefined {
  const wanted: Record<string, string> = {};
  for (const filter of label === undefined ? [] : Array.isArray(label) ? label : [label]) {
    const at = filter.indexOf(':');
    const name = filter.slice(0, at);
    const value = filter.slice(at + 1);
    if (Object.hasOwn(wanted, name) && wanted[name] !== value) return undefined;
    wanted[name] = value;
  }
  return wanted;
}

/** One task in a search: what tells it apart, without its payload, result or history (GET /v1/tasks/:id has those). */
export const TaskSummarySchema = z.object({
  id: TaskIdSchema,
  role: RoleNameSchema,
  state: TaskStateSchema,
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
  labels: z.record(z.string(), z.string()),
  correlationId: z.string(),
  tenant: z.string().optional(),
  workflowId: z.string().optional(),
});
export type TaskSummary = z.infer<typeof TaskSummarySchema>;

export const TaskPageSchema = z.object({
  /** Newest first (by creation time, then id). */
  items: z.array(TaskSummarySchema),
  /**
   * Pass as `cursor` for the next (older) page; null when there is no more. A page may hold
   * fewer than `limit` tasks (even none) and still have a next one: one page examines a bounded
   * number of tasks.
   */
  nextCursor: z.string().nullable(),
});
export type TaskPage = z.infer<typeof TaskPageSchema>;

/**
 * A place in the newest-first order of tasks: everything created before `ms`, or at `ms` with
 * an id before `after` (ids compare as strings; "" is before every id, so (ms, "") is the end
 * of millisecond ms). Its cursor is a list cursor (list-cursor.ts). Tasks keep their place while
 * they change state, so paging is stable under churn.
 */
export interface TaskPosition {
  ms: number;
  after: string;
}

export function encodeTaskCursor(position: TaskPosition): string {
  return encodeListCursor({ ms: position.ms, id: position.after });
}

/** The position in a cursor, or undefined when it is not one this API made ("" ends a millisecond). */
export function decodeTaskCursor(cursor: string): TaskPosition | undefined {
  const place = decodeListCursor(cursor, { emptyId: true });
  return place && { ms: place.ms, after: place.id };
}

/** Whether position `a` comes before `b` in the newest-first order (it is newer). */
export function isNewerPosition(a: TaskPosition, b: TaskPosition): boolean {
  return a.ms > b.ms || (a.ms === b.ms && a.after > b.after);
}
