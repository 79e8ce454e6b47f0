import { z } from 'zod';
import { ErrorClassSchema } from './errors/taskyard-error';

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

/** What a worker writes when a handler snoozes its task (`ctx.snooze`): no attempt is spent. */
export const SnoozeRecordSchema = z.object({
  kind: z.literal('snoozed'),
  /** The attempt that snoozed; the next delivery runs the same attempt again. */
  attempt: z.number().int().min(1),
  startedAt: z.number(),
  snoozedAt: z.number(),
  delayMs: z.number().int().min(0),
  reason: z.string().optional(),
});
export type SnoozeRecord = z.infer<typeof SnoozeRecordSchema>;

const TaskLogEntrySchema = z.discriminatedUnion('kind', [AttemptRecordSchema, SnoozeRecordSchema]);
export type TaskLogEntry = z.infer<typeof TaskLogEntrySchema>;

/**
 * A task's log: its failed attempts and its snoozes, in the order they happened; a re-run of an
 * attempt that failed (after a stall) replaces that attempt's earlier failure record.
 */
export function parseTaskLog(logs: readonly string[]): TaskLogEntry[] {
  const failures = new Map<number, AttemptRecord>();
  const snoozes: SnoozeRecord[] = [];
  for (const line of logs) {
    try {
      const parsed = TaskLogEntrySchema.safeParse(JSON.parse(line));
      if (!parsed.success) continue;
      if (parsed.data.kind === 'snoozed') snoozes.push(parsed.data);
      else failures.set(parsed.data.attempt, parsed.data);
    } catch {
      // Not JSON: not ours.
    }
  }
  const at = (entry: TaskLogEntry) => (entry.kind === 'snoozed' ? entry.snoozedAt : entry.failedAt);
  return [...failures.values(), ...snoozes].sort((a, b) => at(a) - at(b));
}
