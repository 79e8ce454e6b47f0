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

/**
 * The failed-attempt records among a job's log lines, by attempt; anything else (handlers may log
 * free text) is ignored, and a re-run of an attempt (after a stall) replaces its earlier record.
 */
export function parseAttemptRecords(logs: readonly string[]): AttemptRecord[] {
  const records = new Map<number, AttemptRecord>();
  for (const line of logs) {
    try {
      const parsed = AttemptRecordSchema.safeParse(JSON.parse(line));
      if (parsed.success) records.set(parsed.data.attempt, parsed.data);
    } catch {
      // Not JSON: not ours.
    }
  }
  return [...records.values()].sort((a, b) => a.attempt - b.attempt);
}
