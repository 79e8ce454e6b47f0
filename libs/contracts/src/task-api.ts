import { z } from 'zod';
import { ErrorClassSchema } from './errors/taskyard-error';
import { CircuitStateSchema } from './circuit-state';
import { MAX_TASK_DELAY_MS } from './errors/task-errors';
import { CorrelationIdSchema, LabelsSchema, RoleNameSchema, TaskIdSchema, TenantSchema, TopicNameSchema } from './identifiers';
import { ROLE_SETTING_BOUNDS, RoleSettingsSchema } from './role-settings';
import { TaskHistoryEntrySchema, TaskStateSchema } from './task-state';

/** The largest number of tasks one batch request may carry. */
export const MAX_BATCH_SIZE = 1000;
/** BullMQ's largest priority (its PRIORITY_LIMIT, 2^21 - 1: a larger one is refused by BullMQ as the job is added). */
export const MAX_PRIORITY = 2 ** 21 - 1;

/** How long a dedupe window may be: 7 days. */
export const MAX_DEDUPE_TTL_MS = 7 * 86_400_000;

/**
 * Deduplication at enqueue (BullMQ's own): another task of the same role with the same `key`
 * (within the submitter's tenant) is not enqueued while
 * - `simple`: the first one is not finished;
 * - `throttle`: `ttlMs` has not passed since the first one;
 * - `debounce`: each new one replaces the pending one and restarts the wait; the task runs `ttlMs`
 *   after the last (it is delayed that long).
 * A duplicate answers the task already queued (`deduplicated: true`).
 */
export const DedupeSchema = z
  .object({
    key: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'visible ASCII characters'),
    ttlMs: z.number().int().min(1).max(MAX_DEDUPE_TTL_MS).optional(),
    mode: z.enum(['simple', 'throttle', 'debounce']),
  })
  .strict()
  .superRefine((dedupe, ctx) => {
    if (dedupe.mode === 'simple' && dedupe.ttlMs !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ttlMs'], message: 'simple dedupe lasts until the first task finishes: no ttlMs (use throttle for a window)' });
    }
    if (dedupe.mode !== 'simple' && dedupe.ttlMs === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ttlMs'], message: `${dedupe.mode} needs ttlMs, the window` });
    }
  });

export type Dedupe = z.infer<typeof DedupeSchema>;

export const TaskOptionsSchema = z
  .object({
    /** Overrides the role's attempts for this task. */
    attempts: ROLE_SETTING_BOUNDS.attempts.optional(),
    /** Wait this long before the task becomes available (max 30 days). */
    delayMs: z.number().int().min(0).max(MAX_TASK_DELAY_MS).optional(),
    /** 1 is the highest priority; tasks without a priority go before prioritised ones. */
    priority: z.number().int().min(1).max(MAX_PRIORITY).optional(),
    /** Enqueue no duplicate (see DedupeSchema); not with an Idempotency-Key. */
    dedupe: DedupeSchema.optional(),
  })
  .strict();

export const SubmitMetadataSchema = z
  .object({
    correlationId: CorrelationIdSchema.optional(),
    tenant: TenantSchema.optional(),
    labels: LabelsSchema.optional(),
  })
  .strict();

export const SubmitTaskBodySchema = z
  .object({
    role: RoleNameSchema,
    payload: z.unknown(),
    options: TaskOptionsSchema.optional(),
    metadata: SubmitMetadataSchema.optional(),
  })
  .strict();

export const SubmitBatchBodySchema = z
  .object({ tasks: z.array(SubmitTaskBodySchema).min(1).max(MAX_BATCH_SIZE) })
  .strict();

export const PublishBodySchema = z
  .object({
    payload: z.unknown(),
    metadata: SubmitMetadataSchema.optional(),
  })
  .strict();

export const TopicParamsSchema = z.object({ topic: TopicNameSchema });

export const TaskAcceptedSchema = z.object({
  id: TaskIdSchema,
  role: RoleNameSchema,
  state: TaskStateSchema,
  /** The task was a duplicate (options.dedupe): this is the task already queued, nothing new was enqueued. */
  deduplicated: z.literal(true).optional(),
});
export const BatchAcceptedSchema = z.object({ tasks: z.array(TaskAcceptedSchema) });
/** A published message: one task per subscribing role, all with the same correlation id. */
export const PublishedSchema = z.object({ topic: TopicNameSchema, correlationId: z.string(), tasks: z.array(TaskAcceptedSchema) });

export const TaskErrorViewSchema = z.object({ code: z.string(), class: ErrorClassSchema, message: z.string(), attempt: z.number().int() });

export const TaskViewSchema = z.object({
  id: TaskIdSchema,
  role: RoleNameSchema,
  state: TaskStateSchema,
  /** Attempts made so far (a running attempt counts). */
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  progress: z.union([z.number(), z.record(z.string(), z.unknown())]).optional(),
  result: z.unknown().optional(),
  error: TaskErrorViewSchema.optional(),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  /** The labels it was submitted with (GET /v1/tasks?label=name:value finds it by them). */
  labels: z.record(z.string(), z.string()).optional(),
  /** The API key whose request started the work. */
  owner: z.string().optional(),
  /** The tenant it belongs to (keys bound to another tenant never see it). */
  tenant: z.string().optional(),
  /** The workflow the task is a node of. */
  workflowId: z.string().optional(),
  history: z.array(TaskHistoryEntrySchema),
  /** A failed task's dead letter (`/v1/dead-letters/<id>`), while it is kept. */
  deadLetter: z.string().optional(),
});

export const TaskIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

/** DELETE /v1/tasks/:id of an active task (202): its view as it runs, and that it was told to abort. */
export const CancellationRequestedSchema = TaskViewSchema.extend({ cancellationRequested: z.literal(true) });

export const QueueCountsSchema = z.object({
  queued: z.number().int(),
  delayed: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});

export const RoleViewSchema = RoleSettingsSchema.extend({
  name: RoleNameSchema,
  description: z.string(),
  queue: z.string(),
  counts: QueueCountsSchema,
  /** The role's shared circuit breaker (`closed` for roles without one). */
  circuit: CircuitStateSchema,
  /** Live worker processes that run the role (the worker registry; null when it could not be read). */
  workers: z.number().int().nullable(),
  /** True when tasks wait and no live worker runs the role: nothing will take them (null: unknown). */
  unattended: z.boolean().nullable(),
});
export const RoleListSchema = z.object({ roles: z.array(RoleViewSchema) });

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export type SubmitTaskBody = z.infer<typeof SubmitTaskBodySchema>;
export type TaskAccepted = z.infer<typeof TaskAcceptedSchema>;
export type PublishBody = z.infer<typeof PublishBodySchema>;
export type Published = z.infer<typeof PublishedSchema>;
export type TaskView = z.infer<typeof TaskViewSchema>;
export type CancellationRequested = z.infer<typeof CancellationRequestedSchema>;
export type QueueCounts = z.infer<typeof QueueCountsSchema>;
export type RoleView = z.infer<typeof RoleViewSchema>;
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
export type TaskOptions = z.infer<typeof TaskOptionsSchema>;
export type SubmitMetadata = z.infer<typeof SubmitMetadataSchema>;
