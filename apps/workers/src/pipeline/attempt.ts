import type { Job } from 'bullmq';
import type { TaskMessage } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AttemptAbort } from '../bullmq-worker';

/**
 * One attempt of one job, as the processor's steps see it: the job, BullMQ's token and signal,
 * and what the steps learn on the way (the verified message). Its logger is made on first use:
 * debug lines are off in production, and a child logger per task showed in the worker's profile.
 */
export class Attempt {
  readonly startedAt = Date.now();
  readonly number: number;
  readonly maxAttempts: number;
  message: TaskMessage | undefined;
  private taskLog: Logger | undefined;

  constructor(
    readonly job: Job,
    readonly token: string | undefined,
    /** BullMQ's processor signal: it fires when the attempt is cancelled (worker.cancelJob) or timed out. */
    readonly abortHandle: AttemptAbort,
    private readonly roleLog: Logger,
  ) {
    this.number = job.attemptsMade + 1;
    this.maxAttempts = job.opts.attempts ?? 1;
  }

  get taskId(): string {
    return String(this.job.id);
  }

  /** This attempt's logger: every line carries taskId, correlationId (once verified) and attempt. */
  get log(): Logger {
    return (this.taskLog ??= this.message
      ? this.roleLog.child({ taskId: this.message.id, correlationId: this.message.metadata.correlationId, attempt: this.number })
      : this.roleLog.child({ taskId: this.job.id, attempt: this.number }));
  }

  /** The handler's AbortSignal (`ctx.signal`), made on first read; it fires with the attempt's abort. */
  get signal(): AbortSignal {
    return this.abortHandle.toAbortSignal();
  }

  /** Whether the attempt was told to stop (timed out or cancelled), and why. */
  get abortReason(): unknown {
    return this.abortHandle.aborted ? this.abortHandle.reason : undefined;
  }
}
