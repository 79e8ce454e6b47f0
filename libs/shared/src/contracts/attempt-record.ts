import { z } from 'zod';

export const ErrorClassSchema = z.enum(['transient', 'permanent']);
export type ErrorClass = z.infer<typeof ErrorClassSchema>;

/**
 * What a worker writes (one job log line, on the failure path only) when an attempt fails.
 * A successful attempt needs no record: BullMQ's own processedOn/finishedOn describe it, so the
 * happy path costs no extra Redis write.
 */
export const AttemptRecordSchema = z.object({
  kind: z.literal('attempt-failed'),
  attempt: z.number().int().min(1),
  startedAt: z.number(),
  failedAt: z.number(),
  /** True when another attempt follows (after the role's backoff). */
  willRetry: z.boolean(),
  error: z.object({
    code: z.string(),
    message: z.string(),
    /** permanent: retrying cannot help (no further attempt); transient: retried with backoff. */
    class: ErrorClassSchema.default('transient'),
  }),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;
