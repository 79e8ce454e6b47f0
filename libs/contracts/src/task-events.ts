import { z } from 'zod';
import { CorrelationIdSchema, RoleNameSchema, TenantSchema, WorkflowIdSchema } from './identifiers';
import { TaskErrorViewSchema } from './task-api';
import { TaskStateSchema } from './task-state';

/**
 * A task's event on the live streams (Server-Sent Events: GET /v1/tasks/:id/events and
 * GET /v1/events): `event: state` when it enters a state, `event: progress` when its handler
 * reports progress. `at` is when Redis recorded it (the time of the BullMQ event's stream id).
 */
export const TaskStateEventSchema = z.object({
  taskId: z.string(),
  role: RoleNameSchema,
  state: TaskStateSchema,
  at: z.iso.datetime(),
  correlationId: z.string().optional(),
  workflowId: z.string().optional(),
  /** A completed task's result. */
  result: z.unknown().optional(),
  /** A failed task's error, as GET /v1/tasks/:id shows it. */
  error: TaskErrorViewSchema.optional(),
});
export type TaskStateEvent = z.infer<typeof TaskStateEventSchema>;

export const TaskProgressEventSchema = z.object({
  taskId: z.string(),
  role: RoleNameSchema,
  progress: z.union([z.number(), z.record(z.string(), z.unknown())]),
  at: z.iso.datetime(),
  correlationId: z.string().optional(),
  workflowId: z.string().optional(),
});
export type TaskProgressEvent = z.infer<typeof TaskProgressEventSchema>;

/**
 * The last event of a stream the server ends early: why (`slow-client`: it read too slowly;
 * `shutdown`: the API stops; `unavailable`: Redis could not be read, so an event might have been
 * missed). The client resumes with its Last-Event-ID.
 */
export const StreamEndEventSchema = z.object({ reason: z.enum(['slow-client', 'shutdown', 'unavailable']) });

/** GET /v1/events: every filter given must match; a tenant key sees its own tenant's tasks only. */
export const EventStreamQuerySchema = z
  .object({
    role: RoleNameSchema.optional(),
    correlationId: CorrelationIdSchema.optional(),
    workflowId: WorkflowIdSchema.optional(),
    /** Operator keys: only this tenant's tasks. */
    tenant: TenantSchema.optional(),
  })
  .strict();
export type EventStreamQuery = z.infer<typeof EventStreamQuerySchema>;

/** The headers a stream may resume with (the `id:` of the last event it got). */
export const LastEventIdHeadersSchema = z.object({ 'last-event-id': z.string().max(256).optional() });
