import type { Job } from 'bullmq';
import { CancelledError, roleOfKnownTaskId, type DoneRecord } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { Logger } from '@taskyard/observability';
import type { AnyRole } from '@taskyard/roles';
import { ledgerTimings, type MessageRecords, type RecordWrite } from '@taskyard/store';

/** What the ledger says before a handler runs. */
export type LedgerCheck = { readonly run: true } | { readonly run: false; readonly result: unknown };

/** The ledger has nothing against running the handler. */
export const RUN: LedgerCheck = Object.freeze({ run: true });

/**
 * A job added this long after its message was created is treated as a re-injection (an
 * Idempotency-Key retry re-adding stored jobs, a message added again by hand): the API and
 * `ctx.send` add a message within milliseconds of creating it, on the same clock. Erring on the
 * short side only costs a first delivery one ledger read.
 */
export const REINJECTION_AFTER_MS = 250;

/**
 * Whether this delivery could repeat a run that already happened: a retry, a redelivery after a
 * stall (its worker died or lost the lock), or a re-injection. Only these read the ledger; a
 * message's first delivery cannot have run before, so the happy path costs one write, not two.
 */
export function mayRepeatEarlierRun(job: Pick<Job, 'attemptsMade' | 'stalledCounter' | 'timestamp'>, createdAt: string): boolean {
  return job.attemptsMade > 0 || job.stalledCounter > 0 || job.timestamp - Date.parse(createdAt) > REINJECTION_AFTER_MS;
}

/**
 * The worker's side of the effects ledger: one SET after the handler, and one GET before it for
 * deliveries that may repeat an earlier run (see mayRepeatEarlierRun). A message that completed before (redelivered after its worker died
 * between the handler and BullMQ's completion, or re-injected after its job was removed) is not
 * run again: it completes with the stored result. A cancelled message is not run at all.
 */
export class EffectsLedger {
  private pending: RecordWrite[] = [];
  private readonly roleTtlMs = new Map<AnyRole, number>();

  constructor(
    private readonly records: MessageRecords,
    private readonly config: TaskyardConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * Whether this delivery must read the ledger before its handler runs (see mayRepeatEarlierRun).
   * `always` is for roles with a circuit breaker: a job the circuit handed back looks like a
   * first delivery to BullMQ, yet a cancellation may have been recorded meanwhile. A first
   * delivery reads nothing: a cancellation of a task that just became active reaches it through
   * the cancel channel (Cancellations keeps early ones).
   */
  mustCheck(job: Job, createdAt: string, { always = false }: { always?: boolean } = {}): boolean {
    return always || mayRepeatEarlierRun(job, createdAt);
  }

  /**
   * Reads the message's record: throws CancelledError for a cancelled message; `run: false` with
   * the stored result for a completed one.
   */
  async check(messageId: string): Promise<LedgerCheck> {
    const record = await this.records.read(messageId);
    if (!record) return RUN;
    if (record.status === 'cancelled') throw new CancelledError();
    return { run: false, result: record.result };
  }

  /**
   * Records the completed message with its output; never throws. The records of every attempt
   * completing in one turn of the event loop go out together (setImmediate), one role's as one
   * Lua call that SETs them all (their keys share the role's hash slot): in an A/B of builds a
   * SET per task cost ~20 µs of worker CPU per task (an ioredis command, its promise and its
   * reply each time), this ~2. The records land just after BullMQ's completions, in the same
   * turn: a redelivery that reads the ledger (after a stall) comes long after. A refused write
   * (e.g. Redis full) leaves the tasks completed, only without their records, and is logged once
   * per batch. A turn with one record sends a plain SET: the script would cost Redis a command of
   * its own around it.
   */
  recordDone(role: AnyRole, job: Job, messageId: string, output: unknown): void {
    const ttlMs = this.ttlMs(role, job.opts.attempts ?? role.attempts);
    const record: DoneRecord = { status: 'done', completedAt: Date.now(), result: output };
    if (this.pending.push({ taskId: messageId, value: JSON.stringify(record), ttlMs }) === 1) {
      setImmediate(() => this.flush());
    }
  }

  /** The record's TTL for a message of `role` with `attempts` (the role's own attempts: worked out once). */
  private ttlMs(role: AnyRole, attempts: number): number {
    if (attempts !== role.attempts) return ledgerTimings(role, attempts, this.config).ttlMs;
    let ttlMs = this.roleTtlMs.get(role);
    if (ttlMs === undefined) this.roleTtlMs.set(role, (ttlMs = ledgerTimings(role, attempts, this.config).ttlMs));
    return ttlMs;
  }

  private flush(): void {
    const writes = this.pending;
    this.pending = [];
    for (const batch of byRole(writes)) {
      this.records.writeMany(batch).catch((err: unknown) =>
        // The message only: an ioredis error carries the command's arguments, i.e. the results.
        this.logger.warn(
          { reason: err instanceof Error ? err.message : String(err), taskIds: batch.map((write) => write.taskId) },
          'could not record completed messages in the ledger',
        ),
      );
    }
  }
}

/** The writes grouped by their task's role (a task id starts with its role): one slot each. */
function byRole(writes: readonly RecordWrite[]): RecordWrite[][] {
  if (writes.length === 1) return [writes as RecordWrite[]];
  const groups = new Map<string, RecordWrite[]>();
  for (const write of writes) {
    const role = roleOfKnownTaskId(write.taskId) ?? '';
    let group = groups.get(role);
    if (!group) groups.set(role, (group = []));
    group.push(write);
  }
  return [...groups.values()];
}
