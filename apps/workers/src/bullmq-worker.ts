import { Worker } from 'bullmq';

/**
 * BullMQ's Worker with the two things Taskyard needs of it that its public API lacks a name for.
 * The one place the workers touch BullMQ beyond its documented API.
 */
export class TaskyardWorker extends Worker {
  /**
   * Aborts the attempt of job `jobId` running here (BullMQ's cancelJob: its processor signal
   * fires with `reason`); false when no attempt of it runs here. BullMQ types the reason as a
   * string, and hands it to AbortController.abort as it is: Taskyard passes its error, so
   * `ctx.signal.reason` says what happened (TaskTimeoutError, CancelledError).
   */
  abort(jobId: string, reason: Error): boolean {
    return this.cancelJob(jobId, reason as unknown as string);
  }

  /** The ids of the jobs this worker is processing now (the ones its lock manager renews). */
  activeJobIds(): string[] {
    return this.lockManager.getTrackedJobIds();
  }
}
