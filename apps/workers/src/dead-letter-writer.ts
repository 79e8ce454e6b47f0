import type { Job, Queue } from 'bullmq';
import { CANCELLED_CODE, parseAttemptRecords, TaskEnvelopeSchema, type AttemptRecord, type DeadLetter } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { DeadLetterStore } from '@taskyard/store';
import type { RoleSeries } from './worker-metrics';

/**
 * Turns a role's tasks that failed for good into dead letters: from the processor on a task's
 * last attempt (before BullMQ marks the job failed, so a crash in between cannot lose it), and
 * from the worker's 'failed' event for jobs BullMQ fails without running the processor (a job
 * that stalled more often than allowed). Runs on the failure path only: a task that completes
 * costs nothing here.
 */
export class DeadLetterWriter {
  constructor(
    private readonly role: string,
    private readonly store: DeadLetterStore,
    private readonly queue: Queue,
    private readonly series: RoleSeries,
    private readonly roleLog: Logger,
  ) {}

  /** The processor's last attempt failed with `record` (call before writing it to the job's log: see role-worker). */
  async afterLastAttempt(job: Job, record: AttemptRecord, log: Logger): Promise<void> {
    // A cancelled task was stopped on purpose: it is not dead, and nobody should replay it.
    if (record.error.code === CANCELLED_CODE) return;
    await this.write(job, log, async () => ({
      reason: record.error.class === 'permanent' ? 'permanent-error' : 'attempts-exhausted',
      error: record.error,
      attempts: [...(await this.earlierAttempts(job)).filter((earlier) => earlier.attempt !== record.attempt), record],
      deadAt: new Date(record.failedAt).toISOString(),
    }));
  }

  /** The worker's 'failed' event; acts only on failures BullMQ made outside the processor. */
  async afterWorkerFailed(job: Job | undefined, error: Error): Promise<void> {
    // BullMQ fails a job that stalled too often through its "deferred failure": the processor
    // never sees it. Every other failure went through the processor, which wrote its dead letter.
    if (!job?.deferredFailure) return;
    const log = this.roleLog.child({ taskId: job.id });
    await this.write(job, log, async () => ({
      reason: 'stalled',
      error: { code: 'STALLED', class: 'transient', message: error.message },
      attempts: await this.earlierAttempts(job),
      deadAt: new Date().toISOString(),
    }));
  }

  private async write(
    job: Job,
    log: Logger,
    describe: () => Promise<Pick<DeadLetter, 'reason' | 'error' | 'attempts' | 'deadAt'>>,
  ): Promise<void> {
    try {
      const envelope = TaskEnvelopeSchema.safeParse(job.data);
      await this.store.put({
        id: String(job.id),
        role: this.role,
        ...(await describe()),
        maxAttempts: job.opts.attempts ?? 1,
        correlationId: envelope.success ? envelope.data.metadata.correlationId : null,
        ...(envelope.success && envelope.data.metadata.owner !== undefined ? { owner: envelope.data.metadata.owner } : {}),
        ...(envelope.success && envelope.data.metadata.tenant !== undefined ? { tenant: envelope.data.metadata.tenant } : {}),
        ...(envelope.success && envelope.data.metadata.workflowId !== undefined ? { workflowId: envelope.data.metadata.workflowId } : {}),
        createdAt: envelope.success ? envelope.data.createdAt : new Date(job.timestamp).toISOString(),
        // As stored, signature and all: a replay verifies it before enqueuing anything.
        message: job.data as unknown,
      });
      this.series.deadLettered.inc();
    } catch (err) {
      // Loud: the task is failed in its queue, but without a dead letter nobody will replay it.
      log.error({ err, taskId: job.id, deadLetter: false }, 'could not write the dead letter of a failed task');
    }
  }

  /** The failed-attempt records the processor wrote to the job's log. */
  private async earlierAttempts(job: Job): Promise<AttemptRecord[]> {
    const { logs } = await this.queue.getJobLogs(String(job.id), 0, -1);
    return parseAttemptRecords(logs);
  }

}
