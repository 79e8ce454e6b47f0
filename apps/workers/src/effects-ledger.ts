import type { Job } from 'bullmq';
import {
  CancelledError,
  ledgerTimings,
  readMessageRecord,
  type DoneRecord,
  TaskyardKeys,
  type AnyRole,
  type Redis,
  type TaskyardConfig,
} from '@taskyard/shared';

/** What the ledger says before a handler runs. */
export type LedgerCheck = { readonly run: true } | { readonly run: false; readonly result: unknown };

const RUN: LedgerCheck = Object.freeze({ run: true });

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
  constructor(
    private readonly redis: Redis,
    private readonly config: TaskyardConfig,
    private readonly keys: TaskyardKeys,
  ) {}

  /**
   * Throws CancelledError for a cancelled message; `run: false` with the stored result for a
   * completed one. A first delivery reads nothing: a cancellation of a task that just became
   * active reaches it through the cancel channel (RunningAttempts keeps early ones). `always` is
   * for roles with a circuit breaker: a job the circuit handed back looks like a first delivery
   * to BullMQ, yet a cancellation may have been recorded meanwhile.
   */
  async check(job: Job, messageId: string, createdAt: string, { always = false }: { always?: boolean } = {}): Promise<LedgerCheck> {
    if (!always && !mayRepeatEarlierRun(job, createdAt)) return RUN;
    const record = await readMessageRecord(this.redis, this.keys, messageId);
    if (!record) return RUN;
    if (record.status === 'cancelled') throw new CancelledError();
    return { run: false, result: record.result };
  }

  /**
   * Records the completed message with its output. Writes are batched per turn of the event loop
   * (setImmediate): every attempt completing in the same turn shares one pipeline and one socket
   * write, which a profile showed to matter (a write per task cost ~15 % of the worker's time). The
   * record thus lands just after BullMQ's completion, in the same turn: a redelivery that reads
   * the ledger (after a stall) comes long after. Resolves when Redis has answered.
   */
  recordDone(role: AnyRole, job: Job, messageId: string, output: unknown): Promise<void> {
    const { ttlMs } = ledgerTimings(role, job.opts.attempts ?? role.attempts, this.config);
    const record: DoneRecord = { status: 'done', completedAt: Date.now(), result: output };
    return new Promise<void>((resolve, reject) => {
      if (this.pending.push({ key: this.keys.message(messageId), value: JSON.stringify(record), ttlMs, resolve, reject }) === 1) {
        setImmediate(() => this.flush());
      }
    });
  }

  private readonly pending: PendingWrite[] = [];

  private flush(): void {
    const writes = this.pending.splice(0);
    if (writes.length === 1) {
      const [write] = writes as [PendingWrite];
      this.redis.set(write.key, write.value, 'PX', write.ttlMs).then(() => write.resolve(), write.reject);
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const write of writes) pipeline.set(write.key, write.value, 'PX', write.ttlMs);
    pipeline.exec().then(
      (results) => writes.forEach((write, index) => (results?.[index]?.[0] ? write.reject(results[index]![0]) : write.resolve())),
      (err: unknown) => writes.forEach((write) => write.reject(err)),
    );
  }
}

interface PendingWrite {
  key: string;
  value: string;
  ttlMs: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}
