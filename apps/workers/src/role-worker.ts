import { maxMessageAgeMs } from '@taskyard/contracts';
import { CorrelationIdSchema } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { MessageSigner } from '@taskyard/crypto';
import type { Logger } from '@taskyard/observability';
import type { AnyRole, RoleHandler } from '@taskyard/roles';
import {
  isRedisUnavailableError,
  taskyardBackoffDelay,
  TASKYARD_BACKOFF,
  TenantSlots,
  type DeadLetterStore,
  type RedisClient,
  type RoleQueues,
  type TaskyardKeys,
} from '@taskyard/store';
import type { Circuits } from './breaker/circuits';
import { CIRCUIT_ONLY_LIMITER } from './breaker/hand-back';
import { BatchCollector } from './batch/batch-collector';
import { TaskyardWorker } from './bullmq-worker';
import type { Cancellations } from './cancellations';
import { DeadLetterWriter } from './dead-letter-writer';
import type { EffectsLedger } from './effects-ledger';
import type { IsolatedRoles } from './isolated/isolated-roles';
import { createProcessor } from './pipeline/processor';
import type { ContextDeps } from './task-context';
import type { WorkerMetrics } from './worker-metrics';

export interface RoleWorkerDeps {
  config: TaskyardConfig;
  redis: RedisClient;
  keys: TaskyardKeys;
  queues: RoleQueues;
  signer: MessageSigner;
  logger: Logger;
  metrics: WorkerMetrics;
  /** A name for this process in BullMQ (visible in Bull Board's worker list). */
  workerName: string;
  /** The logger of a role's lines (its level may change at run time: `set-log-level`). */
  roleLogger: (role: string) => Logger;
  /** The effects ledger: a completed message is not run again, a cancelled one not at all. */
  ledger: EffectsLedger;
  cancellations: Cancellations;
  deadLetters: DeadLetterStore;
  /** Child-process pools of the roles marked `isolated`. */
  isolated: IsolatedRoles;
  /** The circuit breakers of the roles that declare one. */
  circuits: Circuits;
  context: ContextDeps;
}

/**
 * The one worker factory: every role runs through the same processor pipeline (see
 * createProcessor) in a BullMQ Worker on its queue. Adding a role never means copying this.
 */
export function createRoleWorker(role: AnyRole, deps: RoleWorkerDeps): TaskyardWorker {
  const series = deps.metrics.forRole(role.name);
  const roleLog = deps.roleLogger(role.name);
  const queue = deps.queues.get(role.name);
  const deadLetters = new DeadLetterWriter(role.name, deps.deadLetters, queue, series, roleLog);
  // An isolated role's handler runs in a child process that is killed at the timeout; a batch
  // role's messages wait for their batch; the choice is made once here, so other roles pay
  // nothing per task.
  if (role.batch && role.batch.maxWaitMs >= role.timeoutMs) {
    throw new Error(`role "${role.name}": batch.maxWaitMs (${role.batch.maxWaitMs} ms) must be below its timeout (${role.timeoutMs} ms): a message waits for its batch within its attempt`);
  }
  const batches = role.handleBatch ? new BatchCollector(role, role.handleBatch, (size) => deps.metrics.batchSize(role.name).observe(size)) : undefined;
  const handler = (role.isolated ? deps.isolated.poolFor(role).run : (batches?.handler ?? role.handler)) as RoleHandler<unknown, unknown>;
  const processor = createProcessor(role, {
    signer: deps.signer,
    ledger: deps.ledger,
    cancellations: deps.cancellations,
    context: deps.context,
    logger: roleLog,
    series,
    deadLetters,
    handler,
    circuit: deps.circuits.guard(role.name),
    maxAgeMs: maxMessageAgeMs(role, deps.config.worker),
    clockSkewMs: deps.config.messageClockSkewMs,
    // A slot outlives any attempt (its timeout, plus a lock's length): a killed worker's frees by itself.
    ...(role.fair ? { tenantSlots: new TenantSlots(deps.redis, deps.keys, role.name, role.fair, role.timeoutMs + deps.config.worker.lockDurationMs) } : {}),
  });
  const worker = new TaskyardWorker(queue.name, processor, {
    connection: deps.redis,
    prefix: queue.opts.prefix!,
    name: deps.workerName,
    // A batch role's concurrency is batches at once: each needs `size` jobs in hand.
    concurrency: role.batch ? role.concurrency * role.batch.size : role.concurrency,
    ...(role.rateLimit ? { limiter: { max: role.rateLimit.max, duration: role.rateLimit.duration } } : {}),
    // Without a limiter BullMQ would ignore the hold an open circuit puts on the queue.
    ...(role.breaker && !role.rateLimit ? { limiter: CIRCUIT_ONLY_LIMITER } : {}),
    lockDuration: deps.config.worker.lockDurationMs,
    stalledInterval: deps.config.worker.stalledIntervalMs,
    // Taskyard's backoff: exponential with jitter, or the delay a transient error asked for.
    settings: { backoffStrategy: (attemptsMade, type, err, job) => (type === TASKYARD_BACKOFF ? taskyardBackoffDelay(attemptsMade, job?.opts.backoff as never, err) : 0) },
    autorun: false,
  });
  deps.cancellations.register(role.name, worker);
  // On shutdown the messages waiting for a batch run at once, not after their wait.
  if (batches) worker.on('closing', () => batches.flushAll());
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
