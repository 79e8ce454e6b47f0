import { PermanentTaskError } from '@taskyard/contracts';
import type { AnyRole, BatchEntry, BatchHandler, RoleHandler } from '@taskyard/roles';

interface Waiting {
  entry: BatchEntry<unknown>;
  resolve: (outcome: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Message batching for a role with `batch` (BullMQ's batches are a paid feature; this is one
 * worker's collector on the OSS worker). Each job still goes through the whole processor
 * pipeline — verified, checked, timed, recorded on its own — and reaches this as its handler:
 * its message waits here until `size` messages are in or `maxWaitMs` passed since the first,
 * then the role's batch handler runs once for all of them, and each job gets its own outcome
 * back (a result, an outcome, or an Error that fails that job alone). At most `concurrency`
 * batches run at once; a batch due meanwhile goes when one ends. The jobs are active in
 * BullMQ meanwhile, so its lock manager keeps renewing their locks: a batch never holds a job
 * past its lock, and a message that times out or is cancelled while it waits leaves the batch.
 */
export class BatchCollector {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly size: number;
  private readonly maxWaitMs: number;
  /** The role's concurrency: batches running at once in this process. */
  private readonly maxRunning: number;
  private running = 0;
  /** A batch was due while `maxRunning` ran: it goes as soon as one ends. */
  private due = false;

  constructor(
    role: AnyRole,
    private readonly handleBatch: BatchHandler<unknown, unknown>,
    private readonly onBatch: (size: number) => void = () => undefined,
  ) {
    this.size = role.batch!.size;
    this.maxWaitMs = role.batch!.maxWaitMs;
    this.maxRunning = role.concurrency;
  }

  /** The role's handler for one message: resolves with that message's outcome once its batch ran. */
  readonly handler: RoleHandler<unknown, unknown> = (message, ctx) =>
    new Promise((resolve, reject) => {
      const waiting: Waiting = { entry: { message, ctx }, resolve, reject };
      this.waiting.push(waiting);
      // Its attempt ended while it waited (its timeout, a cancellation): it leaves the queue here.
      ctx.signal.addEventListener('abort', () => this.drop(waiting), { once: true });
      if (this.waiting.length >= this.size) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });

  private drop(waiting: Waiting): void {
    const at = this.waiting.indexOf(waiting);
    if (at !== -1) this.waiting.splice(at, 1);
  }

  /** Runs what waits now, without waiting out maxWaitMs or a free batch slot (shutdown). */
  flushAll(): void {
    while (this.waiting.length > 0) this.flush(true);
  }

  private flush(force = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!force && this.running >= this.maxRunning) {
      this.due = true;
      return;
    }
    const batch = this.waiting.splice(0, this.size);
    // What is left starts a batch of its own, with a wait of its own.
    if (this.waiting.length > 0) this.timer = setTimeout(() => this.flush(), this.maxWaitMs);
    // A message whose attempt ended while it waited (its timeout, a cancellation) is not run.
    const live = batch.filter(({ entry }) => !entry.ctx.signal.aborted);
    if (live.length > 0) void this.run(live);
  }

  /**
   * Runs one batch in one of the `concurrency` slots. The slot is given back when the handler
   * answers, or when every message of the batch ended without it (timed out, cancelled): a
   * handler that hangs past its messages' timeouts does not keep the role from taking batches.
   */
  private async run(batch: Waiting[]): Promise<void> {
    this.running++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.running--;
      if (this.waiting.length > 0 && (this.due || this.waiting.length >= this.size)) {
        this.due = false;
        this.flush();
      }
    };
    let open = batch.length;
    const ended = () => {
      if (--open === 0) release();
    };
    for (const { entry } of batch) entry.ctx.signal.addEventListener('abort', ended, { once: true });
    try {
      await this.runBatch(batch);
    } finally {
      for (const { entry } of batch) entry.ctx.signal.removeEventListener('abort', ended);
      release();
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    this.onBatch(batch.length);
    let outcomes: readonly unknown[];
    try {
      outcomes = await this.handleBatch(batch.map(({ entry }) => entry));
    } catch (err) {
      // The handler threw: every message of the batch fails with its error (and is retried or not by its class).
      for (const waiting of batch) waiting.reject(err);
      return;
    }
    if (!Array.isArray(outcomes) || outcomes.length !== batch.length) {
      const count = Array.isArray(outcomes) ? outcomes.length : 'no list of';
      const err = new PermanentTaskError(`handleBatch answered ${count} outcomes for a batch of ${batch.length}: it must answer one per message, in order`, 'BATCH_OUTCOMES_MISMATCH');
      for (const waiting of batch) waiting.reject(err);
      return;
    }
    batch.forEach((waiting, at) => {
      const outcome = outcomes[at];
      if (outcome instanceof Error) waiting.reject(outcome);
      else waiting.resolve(outcome);
    });
  }
}
