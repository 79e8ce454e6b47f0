import { z } from 'zod';
import { TaskHistoryEntrySchema } from '../contracts/task-state';
import type { Redis } from 'ioredis';
import type { TaskyardKeys } from '../queue/taskyard-keys';

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

/** The record of message `messageId` (one GET), or undefined. */
export async function readMessageRecord(redis: Redis, keys: TaskyardKeys, messageId: string): Promise<MessageRecord | undefined> {
  return parseMessageRecord(await redis.get(keys.message(messageId)));
}

/**
 * Records a cancellation unless the message already has a record (SET NX): a "done" record is
 * never overwritten, and a second cancellation keeps the first. Returns the record that holds
 * afterwards: `record` itself when it was written, else the one found (undefined if that one
 * vanished or is unreadable).
 */
export async function recordCancelled(
  redis: Redis,
  keys: TaskyardKeys,
  messageId: string,
  record: CancelledRecord,
  ttlMs: number,
): Promise<MessageRecord | undefined> {
  const written = await redis.set(keys.message(messageId), JSON.stringify(record), 'PX', ttlMs, 'NX');
  return written === 'OK' ? record : readMessageRecord(redis, keys, messageId);
}
