import { Worker, type Job } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import { DispatchError, type ScheduleRecord } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import { ScheduleOwners } from './schedule-owners';
import { derivedTaskId } from '@taskyard/crypto';
import type { Dispatcher } from '@taskyard/dispatch';
import type { Logger } from '@taskyard/observability';
import { isRedisUnavailableError, type FireJobData, type RedisClient, type ScheduleStore, type TaskyardKeys } from '@taskyard/store';

export interface ScheduleRunnerDeps {
  redis: RedisClient;
  keys: TaskyardKeys;
  store: ScheduleStore;
  dispatcher: Dispatcher;
  config: Pick<TaskyardConfig, 'worker' | 'apiKeys' | 'envApiKeys' | 'apiKeysFile'>;
  logger: Logger;
  registry: Registry;
  workerName: string;
}

/** How often each worker process puts back a schedule's lost pending run (see ScheduleStore.reconcile). */
const RECONCILE_EVERY_MS = 5000;

/**
 * Turns the schedules' runs into tasks, in every worker process (any one may take a run). Each
 * BullMQ job scheduler makes one job per slot; this takes it and enqueues the schedule's task
 * through the dispatcher — signed, from `schedule:<id>`, owned by the key that upserted it, in
 * its tenant — under a task id that follows from the schedule and the slot. A slot therefore
 * makes one task however often its job runs (a worker killed mid-run, a stalled job taken again,
 * two schedulers' jobs for one slot): BullMQ keeps a job whose id exists. A run the role refuses
 * (its schema changed since the upsert) is recorded with its error, not retried.
 */
export class ScheduleRunner {
  private worker: Worker<FireJobData> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconciling = false;
  /** Schedules whose refused owner was logged already (once per process, not once per run). */
  private readonly ownerRefusalsLogged = new Set<string>();
  private readonly fired: Counter<'role' | 'outcome'>;
  private readonly owners: ScheduleOwners;

  constructor(private readonly deps: ScheduleRunnerDeps) {
    this.owners = new ScheduleOwners(deps.config, deps.logger);
    this.fired = new Counter({
      name: 'taskyard_schedule_runs_total',
      help: "Schedule runs taken by this process, by role and outcome (enqueued, duplicate: the slot's task existed, refused: by the role or because the owner key may no longer)",
      labelNames: ['role', 'outcome'],
      registers: [deps.registry],
    });
  }

  async start(): Promise<void> {
    const { keys, redis, config, logger, workerName } = this.deps;
    this.worker = new Worker<FireJobData>(keys.schedulesQueueName, (job) => this.fire(job), {
      connection: redis,
      prefix: keys.schedulesPrefix,
      name: workerName,
      concurrency: 10,
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
    });
    this.worker.on('error', (err) => (isRedisUnavailableError(err) ? logger.debug({ err }, 'schedule runner error (redis)') : logger.error({ err }, 'schedule runner error')));
    this.worker.on('failed', (job, err) => void this.afterFailed(job, err));
    await this.worker.waitUntilReady();
    const reconcile = () => {
      // One pass at a time: a slow one (many schedules, a slow Redis) is not piled on.
      if (this.reconciling) return;
      this.reconciling = true;
      void this.deps.store
        .reconcile()
        .then((repaired) => repaired > 0 && logger.warn({ repaired }, 'schedules without a pending run were given one back'))
        // An outage is logged once by the runtime; anything else is worth a line each time.
        .catch((err: unknown) => logger[isRedisUnavailableError(err) ? 'debug' : 'warn']({ err }, 'schedule reconcile failed; tried again in 5 s'))
        .finally(() => (this.reconciling = false));
    };
    reconcile();
    this.timer = setInterval(reconcile, RECONCILE_EVERY_MS).unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.worker?.close();
  }

  /** A run that failed: tried again while it has attempts, else recorded with its error (no task for that slot). */
  private async afterFailed(job: Job<FireJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    this.deps.logger.warn({ err, schedule: job.data.schedule, final }, final ? 'a schedule run failed for good: no task for its slot' : 'a schedule run failed; BullMQ tries it again');
    if (!final) return;
    const code = (err as { code?: unknown }).code;
    await this.deps.store
      .recordRun(job.data.schedule, { scheduledFor: new Date(slotOf(job)).toISOString(), firedAt: new Date().toISOString(), error: { code: typeof code === 'string' ? code : 'RUN_FAILED', message: err.message } })
      .catch(() => undefined);
  }

  private async fire(job: Job<FireJobData>): Promise<void> {
    const { store, dispatcher, logger } = this.deps;
    const internalId = job.data.schedule;
    const record = await store.read(internalId);
    // Removed since this run was made: nothing to do (its scheduler is gone, or goes now).
    if (!record) {
      await store.queue.removeJobScheduler(internalId);
      return;
    }
    const scheduledFor = slotOf(job);
    const firedAt = new Date().toISOString();
    const run = { scheduledFor: new Date(scheduledFor).toISOString(), firedAt };
    const ownerProblem = this.owners.problem(record);
    if (ownerProblem) {
      this.fired.labels(record.role, 'refused').inc();
      if (!this.ownerRefusalsLogged.has(internalId)) {
        this.ownerRefusalsLogged.add(internalId);
        logger.warn({ schedule: record.id, tenant: record.tenant, owner: record.owner, reason: ownerProblem }, 'schedule runs refused: its owner key may no longer make them (logged once; lastRuns shows each)');
      }
      await store.recordRun(internalId, { ...run, error: { code: 'SCHEDULE_OWNER_REVOKED', message: `no task made: ${ownerProblem}` } });
      return;
    }
    try {
      const [task] = dispatcher.prepare(originOf(record, scheduledFor), [
        { role: record.role, payload: record.payload, options: record.options, id: derivedTaskId(record.role, `schedule:${internalId}@${scheduledFor}`) },
      ]);
      await dispatcher.admit([task!]);
      // BullMQ adds no job whose id exists, and answers the same for one it just added: the
      // slot's run record tells a run taken twice.
      await dispatcher.enqueue([task!]);
      const recorded = await store.recordRun(internalId, { ...run, taskId: task!.message.id });
      this.fired.labels(record.role, recorded ? 'enqueued' : 'duplicate').inc();
    } catch (err) {
      // A full queue is worth another try; a refusal (the role or its schema changed) is not.
      if (!(err instanceof DispatchError) || err.code === 'QUEUE_FULL') throw err;
      this.fired.labels(record.role, 'refused').inc();
      logger.warn({ err, schedule: record.id, tenant: record.tenant }, 'a schedule run was refused: its task was not enqueued');
      await store.recordRun(internalId, { ...run, error: { code: err.failure.taskCode, message: err.message } });
    }
  }
}

/** When a run was due: BullMQ's slot (`prevMillis`), also the last part of the job's id. */
function slotOf(job: Job): number {
  const millis = (job.opts as { prevMillis?: number }).prevMillis ?? Number(String(job.id).slice(String(job.id).lastIndexOf(':') + 1));
  return Number.isFinite(millis) ? millis : job.timestamp;
}

function originOf(record: ScheduleRecord, scheduledFor: number) {
  return { kind: 'schedule' as const, scheduleId: record.id, owner: record.owner, tenant: record.tenant, scheduledFor };
}
