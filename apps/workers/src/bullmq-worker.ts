import { LockManager, Worker } from 'bullmq';

/**
 * One attempt's abort, as BullMQ's lock manager tracks it in place of an AbortController: BullMQ
 * hands it to the processor as its signal, and worker.cancelJob (Taskyard's cancellations) calls
 * its abort(). It makes a real AbortSignal only when the handler reads `ctx.signal`: on Node 20 an
 * AbortSignal per job, with a listener on it, cost ~10 µs of CPU per task in a microbenchmark
 * and ~30 µs in the worker (an A/B of builds), a tenth of all the worker spends, while most
 * handlers never look at their signal. The processor's own wait on it is one callback here.
 */
export class AttemptAbort {
  private controller: AbortController | undefined;
  private listener: ((reason: unknown) => void) | undefined;
  private abortedWith: { reason: unknown } | undefined;

  /** What BullMQ passes the processor (`abortController.signal`): this object itself. */
  get signal(): AttemptAbort {
    return this;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  /** Fires once: the processor's listener, then the handler's AbortSignal if it has one. */
  abort(reason?: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    const listener = this.listener;
    this.listener = undefined;
    listener?.(reason);
    this.controller?.abort(reason);
  }

  /** The one listener the processor keeps while its attempt runs (undefined: none). */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener;
  }

  /** A real AbortSignal that fires with this abort, made on first use (already aborted if it came first). */
  toAbortSignal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }
}

/** The AbortController type BullMQ's lock manager keeps. */
type TrackedController = NonNullable<ReturnType<LockManager['trackJob']>>;

/** BullMQ's lock manager, tracking an AttemptAbort per job where it would make an AbortController. */
class TaskyardLockManager extends LockManager {
  override trackJob(jobId: string, token: string, ts: number, shouldCreateController = false): TrackedController | undefined {
    // As BullMQ's own trackJob, with the lazy abort in the controller's place (cancelJob only calls abort()).
    const abort = shouldCreateController ? (new AttemptAbort() as unknown as TrackedController) : undefined;
    if (!this.closed && jobId) this.trackedJobs.set(jobId, { token, ts, ...(abort ? { abortController: abort } : {}) });
    return abort;
  }

  activeJobIds(): string[] {
    return this.getTrackedJobIds();
  }
}

/**
 * BullMQ's Worker, adapted where Taskyard needs more than its public API names: the one place
 * the workers touch BullMQ beyond it (createLockManager is BullMQ's extension point for this).
 */
export class TaskyardWorker extends Worker {
  protected override createLockManager(): void {
    // BullMQ passes the worker itself as its lock manager's context, as here.
    this.lockManager = new TaskyardLockManager(this as never, {
      lockRenewTime: this.opts.lockRenewTime!,
      lockDuration: this.opts.lockDuration!,
      workerId: this.id,
      ...(this.opts.name === undefined ? {} : { workerName: this.opts.name }),
    });
  }

  /**
   * Aborts the attempt of job `jobId` running here (BullMQ's cancelJob: its processor signal
   * fires with `reason`); false when no attempt of it runs here. BullMQ types the reason as a
   * string and hands it on as it is: Taskyard passes its error, so `ctx.signal.reason` says what
   * happened (TaskTimeoutError, CancelledError).
   */
  abort(jobId: string, reason: Error): boolean {
    return this.cancelJob(jobId, reason as unknown as string);
  }

  /** The ids of the jobs this worker is processing now (the ones its lock manager renews). */
  activeJobIds(): string[] {
    return (this.lockManager as TaskyardLockManager).activeJobIds();
  }
}

/** The abort BullMQ handed a processor (a real AbortSignal only from another lock manager: wrapped). */
export function attemptAbortOf(signal: unknown): AttemptAbort {
  if (signal instanceof AttemptAbort) return signal;
  const abort = new AttemptAbort();
  if (signal instanceof AbortSignal) {
    if (signal.aborted) abort.abort(signal.reason);
    else signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  }
  return abort;
}
