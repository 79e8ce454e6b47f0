import { UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  acceptsSource,
  CancelledError,
  CorrelationIdSchema,
  isRedisUnavailableError,
  openMessage,
  PermanentTaskError,
  SchemaError,
  TaskyardError,
  toIssues,
  type AnyRole,
  type AttemptRecord,
  type Logger,
  type TaskMessage,
  type RoleQueues,
  type WorkerMetrics,
} from '@taskyard/shared';
import type { Circuits } from './breaker/circuits';
import { CIRCUIT_ONLY_LIMITER, isHandBack } from './breaker/hand-back';
import { createDeadLetterWriter } from './dead-letter-writer';
import type { IsolatedRoles } from './isolated/isolated-roles';
import type { EffectsLedger } from './effects-ledger';
import { runWithTimeout } from './run-handler';
import type { RunningAttempts } from './running-attempts';
import { createTaskContext, type ContextDeps } from './task-context';

export interface RoleWorkerDeps extends ContextDeps {
  logger: Logger;
  metrics: WorkerMetrics;
  /** A name for this process in BullMQ (visible in Bull Board's worker list). */
  workerName: string;
  /** The effects ledger: a completed message is not run again, a cancelled one not at all. */
  ledger: EffectsLedger;
  /** This process's running attempts, which cancellations abort. */
  attempts: RunningAttempts;
  /** Child-process pools of the roles marked `isolated`. */
  isolated: IsolatedRoles;
  /** The circuit breakers of the roles that declare one. */
  circuits: Circuits;
}

/**
 * The one worker factory: every role runs through the same processor, which verifies and
 * parses the message, runs the handler under its timeout, checks the output, and records
 * metrics and logs. Adding a role never means copying this.
 */
export function createRoleWorker(role: AnyRole, deps: RoleWorkerDeps): Worker {
  const series = deps.metrics.forRole(role.name);
  const roleLog = deps.logger.child({ role: role.name });
  const deadLetters = createDeadLetterWriter(role.name, deps, series, roleLog);
  // An isolated role's handler runs in a child process that is killed at the timeout; the
  // choice is made once here, so other roles pay nothing per task.
  const runHandler = role.isolated ? deps.isolated.poolFor(role).run : role.handler;
  // A role with a breaker runs each attempt through its circuit; the others run it straight.
  const guard = deps.circuits.guard(role.name);

  const processor = async (job: Job): Promise<unknown> => {
    const startedAt = Date.now();
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    // The task's child logger is made on first use: debug lines are off in production, and a
    // child per task showed in the worker's profile.
    let message: TaskMessage | undefined;
    let taskLog: Logger | undefined;
    const log = () =>
      (taskLog ??= message
        ? roleLog.child({ taskId: message.id, correlationId: message.metadata.correlationId, attempt })
        : roleLog.child({ taskId: job.id, attempt }));
    series.active.inc();
    // Registered before the ledger is read, so a cancellation published in between still aborts it.
    const running = deps.attempts.register(String(job.id));
    try {
      // 1. Trust: verify the signature and parse the payload (permanent failures).
      const opened = openMessage(job.data, role, deps.signer);
      message = opened;
      // Access control: the (signed) source must be one the role accepts.
      if (!acceptsSource(role.acceptFrom, opened.metadata.source)) {
        throw new PermanentTaskError(`role "${role.name}" does not accept tasks from "${opened.metadata.source}"`, 'SOURCE_FORBIDDEN');
      }
      if (roleLog.isLevelEnabled('debug')) log().debug('task started');
      // The ledger (one read, for deliveries that may repeat a run): a message that already
      // completed completes again with its stored result, unrun; a cancelled one fails with CancelledError.
      if (deps.ledger.mustCheck(job, opened.createdAt, { always: role.breaker !== undefined })) {
        const earlier = await deps.ledger.check(opened.id);
        if (!earlier.run) {
          series.duplicatesSkipped.inc();
          log().info('duplicate delivery of a completed message: completed with the stored result, handler not run');
          return earlier.result;
        }
      }
      // 2. Run the handler under the role's timeout; a cancellation aborts it like the timeout.
      const result = await guard(() => runWithTimeout(
        role.timeoutMs,
        (signal) => runHandler(opened, createTaskContext(deps, role, job, opened, log, signal)),
        running,
      ));
      // 3. Check what it returned against the role's output schema.
      const output = checkOutput(role, result);
      // The ledger (one write, batched with the other completions of this turn): from here on a
      // redelivery of this message completes with this output, unrun.
      deps.ledger.recordDone(role, job, opened.id, output);
      series.completed.inc();
      series.duration.observe((Date.now() - startedAt) / 1000);
      if (roleLog.isLevelEnabled('debug')) log().debug('task completed');
      return output;
    } catch (err) {
      // A job the circuit handed back goes to the queue untouched (no attempt was made), unless
      // it was cancelled meanwhile: then it ends here, as cancelled.
      if (isHandBack(err) && !running.aborted) throw err;
      const error = isHandBack(err) ? new CancelledError() : err instanceof Error ? err : new Error(String(err));
      const willRetry = !(error instanceof UnrecoverableError) && attempt < maxAttempts;
      (error instanceof CancelledError ? series.cancelled : willRetry ? series.retried : series.failed).inc();
      series.duration.observe((Date.now() - startedAt) / 1000);
      const record: AttemptRecord = {
        kind: 'attempt-failed',
        attempt,
        startedAt,
        failedAt: Date.now(),
        willRetry,
        error: { code: errorCode(error), class: error instanceof UnrecoverableError ? 'permanent' : 'transient', message: error.message },
      };
      // The dead letter goes first: once the record below (or BullMQ) says failed, it exists, and a
      // crash before BullMQ marks the job failed cannot lose it.
      if (!willRetry) await deadLetters.afterLastAttempt(job, record, log());
      // One write, on the failure path only: the task's history shows every failed attempt.
      await job.log(JSON.stringify(record)).catch((logErr: unknown) => log().warn({ err: logErr }, 'could not record the failed attempt'));
      // The last attempt of a task: it is dead from here on.
      if (error instanceof CancelledError) log().info({ code: record.error.code }, 'task cancelled');
      else log()[willRetry ? 'warn' : 'error']({ err: error, code: record.error.code, willRetry }, willRetry ? 'attempt failed, will retry' : 'task failed');
      throw error;
    } finally {
      running.release();
      series.active.dec();
    }
  };

  const worker = new Worker(role.name, processor, {
    connection: deps.redis,
    prefix: deps.config.queuePrefix,
    name: deps.workerName,
    concurrency: role.concurrency,
    ...(role.rateLimit ? { limiter: { max: role.rateLimit.max, duration: role.rateLimit.duration } } : {}),
    // Without a limiter BullMQ would ignore the hold an open circuit puts on the queue.
    ...(role.breaker && !role.rateLimit ? { limiter: CIRCUIT_ONLY_LIMITER } : {}),
    lockDuration: deps.config.worker.lockDurationMs,
    stalledInterval: deps.config.worker.stalledIntervalMs,
    autorun: false,
  });
  worker.on('failed', (job, err) => void deadLetters.afterWorkerFailed(job, err));
  worker.on('stalled', (jobId) => {
    series.stalled.inc();
    // The event carries only the id; the job's data gives the correlation id every task line has.
    void correlationIdOf(deps.queues, role.name, jobId).then((correlationId) =>
      roleLog.warn({ taskId: jobId, correlationId }, 'stalled task put back in the queue (its worker died or lost its lock)'),
    );
  });
  // Outages are logged once by the runtime; one line per reconnect attempt would drown the logs.
  worker.on('error', (err) => (isRedisUnavailableError(err) ? roleLog.debug({ err }, 'worker error (redis)') : roleLog.error({ err }, 'worker error')));
  return worker;
}

/** The correlation id in a job's (not yet verified) data, for logs only; undefined when unreadable. */
async function correlationIdOf(queues: RoleQueues, role: string, jobId: string): Promise<string | undefined> {
  try {
    const job = await queues.get(role).getJob(jobId);
    const parsed = CorrelationIdSchema.safeParse((job?.data as { metadata?: { correlationId?: unknown } } | undefined)?.metadata?.correlationId);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function checkOutput(role: AnyRole, result: unknown): unknown {
  if (!role.output) return result;
  const parsed = role.output.safeParse(result);
  if (!parsed.success) throw new SchemaError(`handler of role "${role.name}" returned an invalid result`, toIssues(parsed.error));
  return parsed.data;
}

function errorCode(error: Error): string {
  if (error instanceof TaskyardError || error instanceof PermanentTaskError) return error.code;
  if (error instanceof UnrecoverableError) return 'PERMANENT';
  return 'ERROR';
}
