import { CancelledError, roleOfTaskId } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { MessageRecords, TaskyardKeys } from '@taskyard/store';
import type { TaskyardWorker } from './bullmq-worker';
import type { Notifier } from './notifier';

/** How long a cancellation for a task not (yet) running here is remembered. */
export const EARLY_CANCEL_MS = 30_000;

/**
 * Cancellations of active tasks (DELETE /v1/tasks/:id): the API records the cancellation, then
 * publishes the task id on the cancel channel, and the worker running the task aborts its
 * attempt with BullMQ's own mechanism (worker.cancelJob: the processor's signal fires with a
 * CancelledError, and the attempt ends even if the handler ignores it).
 *
 * Two gaps are covered here:
 * - a message that arrives a moment before its attempt is tracked (the API publishes when it could
 *   not remove a job a worker had just fetched; a first delivery does not read the ledger) is
 *   kept for EARLY_CANCEL_MS and applied when the attempt starts;
 * - pub/sub drops what is published while the subscriber reconnects: after every reconnect the
 *   ledger records of the tasks running here are read (one MGET per role) and the cancelled ones
 *   aborted. A cancellation is recorded before it is published, so none falls between the two.
 */
export class Cancellations {
  private readonly workers = new Map<string, TaskyardWorker>();
  private readonly early = new Map<string, number>();

  constructor(
    private readonly records: MessageRecords,
    private readonly keys: TaskyardKeys,
    private readonly logger: Logger,
  ) {}

  /** Listens on the cancel channel (with its catch-up after reconnects). */
  attach(notifier: Notifier): void {
    notifier.listen(this.keys.cancelChannel, (taskId) => this.cancel(taskId), () => this.catchUp());
  }

  /** The worker that runs `role` in this process. */
  register(role: string, worker: TaskyardWorker): void {
    this.workers.set(role, worker);
  }

  /** Aborts the attempt of `taskId` running here; otherwise keeps the cancellation briefly (see above). */
  cancel(taskId: string, now = Date.now()): void {
    const role = roleOfTaskId(taskId);
    const worker = role === undefined ? undefined : this.workers.get(role);
    if (!worker) return;
    if (worker.abort(taskId, new CancelledError())) {
      this.logger.info({ taskId }, 'task cancelled: aborting its attempt');
      return;
    }
    for (const [id, at] of this.early) if (now - at > EARLY_CANCEL_MS) this.early.delete(id);
    this.early.set(taskId, now);
  }

  /** True (once) when a cancellation for `taskId` arrived before its attempt started here. */
  takeEarly(taskId: string, now = Date.now()): boolean {
    if (this.early.size === 0) return false;
    const at = this.early.get(taskId);
    if (at === undefined) return false;
    this.early.delete(taskId);
    return now - at <= EARLY_CANCEL_MS;
  }

  private async catchUp(): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(async (worker) => {
        const taskIds = worker.activeJobIds();
        const records = await this.records.readMany(taskIds);
        taskIds.forEach((taskId, index) => {
          if (records[index]?.status === 'cancelled') this.cancel(taskId);
        });
      }),
    );
  }
}
