import { z } from 'zod';
import { AttemptRecordSchema } from './attempt-record';
import { ErrorClassSchema } from './errors/taskyard-error';
import { RoleNameSchema, TaskIdSchema } from './identifiers';
import { TaskStateSchema } from './task-state';

/** The most dead letters one list page or one bulk replay handles. */
export const MAX_DEAD_LETTER_PAGE = 1000;
export const DEFAULT_DEAD_LETTER_PAGE = 50;

/** Why a task was dead-lettered. */
export const DeadLetterReasonSchema = z.enum([
  /** An attempt failed with a permanent error: retrying could not help, so no attempt followed. */
  'permanent-error',
  /** Every attempt the task was given failed. */
  'attempts-exhausted',
  /** BullMQ failed it outside the handler, e.g. it stalled (its worker died) more often than allowed. */
  'stalled',
]);

export const DeadLetterErrorSchema = z.object({ code: z.string(), class: ErrorClassSchema, message: z.string() });

/**
 * A task that failed for good, kept with everything needed to understand and replay it. The id
 * is the dead task's id (one dead letter per task); `message` is the job data exactly as it was
 * stored, signature included, so a replay can prove it was not altered since the API signed it.
 */
export const DeadLetterSchema = z.object({
  id: z.string().min(1).max(128),
  role: RoleNameSchema,
  reason: DeadLetterReasonSchema,
  /** The error that ended the task (the last attempt's). */
  error: DeadLetterErrorSchema,
  /** Every failed attempt, oldest first. */
  attempts: z.array(AttemptRecordSchema),
  maxAttempts: z.number().int().min(1),
  correlationId: z.string().nullable(),
  /** The API key whose request started the work, and its tenant (from the signed message). */
  owner: z.string().optional(),
  tenant: z.string().optional(),
  /** The workflow the task was a node of (see README, "Workflows": what a replay of it resumes). */
  workflowId: z.string().optional(),
  /** When the task was created (its message's createdAt). */
  createdAt: z.iso.datetime(),
  /** When it was dead-lettered. */
  deadAt: z.iso.datetime(),
  message: z.unknown(),
});

/** A list entry: the dead letter without its message and attempt details. */
export const DeadLetterSummarySchema = DeadLetterSchema.omit({ message: true, attempts: true }).extend({
  /** Attempts that failed. */
  attempts: z.number().int().min(0),
});

export const DeadLetterListQuerySchema = z
  .object({
    role: RoleNameSchema.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_DEAD_LETTER_PAGE).default(DEFAULT_DEAD_LETTER_PAGE),
    /** The `nextCursor` of the previous page. */
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();

export const DeadLetterListSchema = z.object({
  items: z.array(DeadLetterSummarySchema),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});

export const DeadLetterIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

/** The answer to a replay: the new task, whose causationId is the dead letter's id. */
export const ReplayAcceptedSchema = z.object({
  id: TaskIdSchema,
  role: RoleNameSchema,
  state: TaskStateSchema,
  deadLetterId: z.string(),
  /** A workflow node's replay: it runs alone, the workflow does not resume (see README, "Workflows"). */
  workflow: z.object({ id: z.string(), resumed: z.literal(false), note: z.string() }).optional(),
});

/** What a replay of a workflow node's dead letter says about its workflow. */
export const WORKFLOW_REPLAY_NOTE =
  'the replay runs as a task of its own: BullMQ links a child to its parent only when both are added, so the workflow does not resume; submit the workflow again to run it again';

export const BulkReplayBodySchema = z
  .object({
    role: RoleNameSchema,
    /** Dead letters to replay; without it, the role's oldest (up to 1000). */
    ids: z.array(z.string().min(1).max(128)).min(1).max(MAX_DEAD_LETTER_PAGE).optional(),
  })
  .strict();

export const BulkReplayResultSchema = z.object({
  replayed: z.array(ReplayAcceptedSchema),
  /** Ids with no dead letter (never dead, already replayed or deleted, or expired). */
  notFound: z.array(z.string()),
  /** Dead letters kept because they cannot be replayed (e.g. a message that fails verification). */
  refused: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
  /** Dead letters of the role still kept after this request (refused ones included). */
  remaining: z.number().int().min(0),
});

export type DeadLetter = z.infer<typeof DeadLetterSchema>;
export type DeadLetterReason = z.infer<typeof DeadLetterReasonSchema>;
export type DeadLetterSummary = z.infer<typeof DeadLetterSummarySchema>;
export type DeadLetterList = z.infer<typeof DeadLetterListSchema>;
export type ReplayAccepted = z.infer<typeof ReplayAcceptedSchema>;
export type BulkReplayBody = z.infer<typeof BulkReplayBodySchema>;
export type BulkReplayResult = z.infer<typeof BulkReplayResultSchema>;

/** The list entry of a dead letter. */
export function summarizeDeadLetter(letter: DeadLetter): DeadLetterSummary {
  const { message: _message, attempts, ...rest } = letter;
  return { ...rest, attempts: attempts.length };
}

/** Where the API serves a dead letter (the task view links to it). */
export function deadLetterPath(id: string): string {
  return `/v1/dead-letters/${encodeURIComponent(id)}`;
}
