import type { ExternalAbort } from './run-handler';

/**
 * One attempt running in this process, as the cancellation listener sees it. Aborting before the
 * attempt listens is kept, so a cancellation that arrives while the attempt is still reading the
 * ledger still ends it.
 */
export class RunningAttempt implements ExternalAbort {
  private reason: Error | undefined;
  private readonly listeners: ((reason: Error) => void)[] = [];

  constructor(
    readonly taskId: string,
    private readonly onRelease: (attempt: RunningAttempt) => void,
  ) {}

  onAbort(listener: (reason: Error) => void): void {
    if (this.reason) listener(this.reason);
    else this.listeners.push(listener);
  }

  /** Whether the attempt was aborted (cancelled). */
  get aborted(): boolean {
    return this.reason !== undefined;
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    for (const listener of this.listeners.splice(0)) listener(reason);
  }

  /** The attempt ended: forget it (and its listeners). */
  release(): void {
    this.listeners.length = 0;
    this.onRelease(this);
  }
}

/** How long a cancellation for a task not (yet) running here is remembered. */
export const EARLY_CANCEL_MS = 30_000;

/**
 * The attempts running in this process, by task id (a task may have two: an attempt that lost its
 * lock can still be running when its redelivery starts here). In-memory only: registering costs
 * no Redis command.
 */
export class RunningAttempts {
  private readonly byTask = new Map<string, Set<RunningAttempt>>();
  /**
   * Cancellations for tasks not running here, kept briefly: the API publishes when it could not
   * remove a job because a worker had just fetched it, and that worker may register the attempt a
   * moment after the message arrives (a first delivery does not read the ledger).
   */
  private readonly early = new Map<string, { at: number; reason: () => Error }>();

  register(taskId: string): RunningAttempt {
    const attempt = new RunningAttempt(taskId, (done) => this.forget(done));
    let attempts = this.byTask.get(taskId);
    if (!attempts) this.byTask.set(taskId, (attempts = new Set()));
    attempts.add(attempt);
    if (this.early.size > 0) {
      const early = this.early.get(taskId);
      if (early) {
        this.early.delete(taskId);
        attempt.abort(early.reason());
      }
    }
    return attempt;
  }

  /**
   * Aborts every attempt of `taskId` running here with `reason`; returns how many there were.
   * With none, the cancellation is kept for EARLY_CANCEL_MS in case the attempt is about to start.
   */
  abort(taskId: string, reason: () => Error, now = Date.now()): number {
    const attempts = this.byTask.get(taskId);
    if (!attempts) {
      for (const [id, early] of this.early) if (now - early.at > EARLY_CANCEL_MS) this.early.delete(id);
      this.early.set(taskId, { at: now, reason });
      return 0;
    }
    for (const attempt of attempts) attempt.abort(reason());
    return attempts.size;
  }

  get size(): number {
    return this.byTask.size;
  }

  /** The tasks with an attempt running here now. */
  taskIds(): string[] {
    return [...this.byTask.keys()];
  }

  private forget(attempt: RunningAttempt): void {
    const attempts = this.byTask.get(attempt.taskId);
    attempts?.delete(attempt);
    if (attempts?.size === 0) this.byTask.delete(attempt.taskId);
  }
}
