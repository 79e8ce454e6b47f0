import { z } from 'zod';
import { TaskHistoryEntrySchema } from './task-state';

/** The message completed: its handler's (checked) output, so a redelivery completes with it unrun. */
export const DoneRecordSchema = z.object({
  status: z.literal('done'),
  completedAt: z.number(),
  // Optional: a handler that returns undefined stores no result.
  result: z.unknown().optional(),
});

/** The states DELETE /v1/tasks/:id cancels from. */
export const CancelledFromSchema = z.enum(['queued', 'delayed', 'active']);

/**
 * The message was cancelled. A queued or delayed task's job is removed, so the record keeps what
 * GET /v1/tasks/:id shows of it (the view at the moment of cancelling, history included).
 */
export const CancelledRecordSchema = z.object({
  status: z.literal('cancelled'),
  cancelledAt: z.number(),
  from: CancelledFromSchema,
  task: z.object({
    role: z.string(),
    createdAt: z.iso.datetime(),
    correlationId: z.string(),
    causationId: z.string().nullable(),
    owner: z.string().optional(),
    tenant: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    workflowId: z.string().optional(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    startedAt: z.iso.datetime().optional(),
    history: z.array(TaskHistoryEntrySchema),
  }),
});

export const MessageRecordSchema = z.discriminatedUnion('status', [DoneRecordSchema, CancelledRecordSchema]);

export type DoneRecord = z.infer<typeof DoneRecordSchema>;
export type CancelledRecord = z.infer<typeof CancelledRecordSchema>;
export type MessageRecord = z.infer<typeof MessageRecordSchema>;

/**
 * Parses a stored record. Redis is a trust boundary: anything that is not a record (altered,
 * truncated) reads as no record rather than an error.
 */
export function parseMessageRecord(raw: string | null | undefined): MessageRecord | undefined {
  if (!raw) return undefined;
  try {
    const parsed = MessageRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
