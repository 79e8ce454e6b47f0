import { randomUUID } from 'node:crypto';
import { z } from 'zod';

const NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

/**
 * Role names double as BullMQ queue names and as the first part of task ids, so they are
 * lower-case words joined by "-" or "." (no ":" or "_"), e.g. `echo`, `docs.ingest`.
 */
export const RoleNameSchema = z.string().regex(NAME, 'a role name is lower-case words joined by "." or "-"').max(64);

/** A topic is named like a role: lower-case words joined by "." or "-" (e.g. `order.created`). */
export const TopicNameSchema = z.string().regex(NAME, 'a topic name is lower-case words joined by "." or "-"').max(64);

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TASK_ID = new RegExp(`^[a-z][a-z0-9-]*(?:\\.[a-z][a-z0-9-]*)*_${UUID}$`);
/** `_` plus a UUID. */
const UUID_PART_LENGTH = 37;

/**
 * A task id is its role's name, `_`, and a random UUID (`echo_0d9f1c9e-…`): 122 random bits, so
 * ids cannot be guessed or enumerated, and the role in front tells where the task lives, so
 * finding one by id costs the same whatever the number of roles (and, on a Redis Cluster, goes
 * straight to the node holding its role).
 */
export const TaskIdSchema = z.string().max(64 + UUID_PART_LENGTH).regex(TASK_ID, 'a task id is <role>_<uuid>');
export type TaskId = z.infer<typeof TaskIdSchema>;

/** A new task id for `role`. */
export function newTaskId(role: string): string {
  return `${role}_${randomUUID()}`;
}

/** The role a task id names, or undefined when `id` is not a task id (checked in full: ids come from outside). */
export function roleOfTaskId(id: string): string | undefined {
  return TASK_ID.test(id) ? id.slice(0, id.length - UUID_PART_LENGTH) : undefined;
}

/**
 * The role of a task id the caller already trusts (a verified message's, a job's): where the
 * `_` before the UUID is, without checking the rest. For ids from outside use roleOfTaskId.
 */
export function roleOfKnownTaskId(id: string): string | undefined {
  const at = id.length - UUID_PART_LENGTH;
  return at > 0 && id.charCodeAt(at) === 95 /* _ */ ? id.slice(0, at) : undefined;
}

const WORKFLOW_ID = new RegExp(`^wf_${UUID}$`);
/** A workflow id is `wf_` and a random UUID. */
export const WorkflowIdSchema = z.string().regex(WORKFLOW_ID, 'a workflow id is wf_<uuid>');
export type WorkflowId = z.infer<typeof WorkflowIdSchema>;

/** A new workflow id. */
export function newWorkflowId(): string {
  return `wf_${randomUUID()}`;
}

export const CorrelationIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:-]+$/, 'letters, digits, "_", ".", ":" and "-" only');

export const LabelsSchema = z
  .record(z.string().regex(/^[\w./-]{1,63}$/, 'label names are 1-63 of A-Z a-z 0-9 _ . / -'), z.string().max(256))
  .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 labels');

export const TenantSchema = z.string().min(1).max(128);
