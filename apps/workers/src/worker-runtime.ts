import { RolePools } from './pools/role-pools';
import { hostname } from 'node:os';
import type { TaskyardConfig } from '@taskyard/config';
import { MessageSigner } from '@taskyard/crypto';
import { Dispatcher } from '@taskyard/dispatch';
import type { Logger } from '@taskyard/observability';
import type { RoleRegistry } from '@taskyard/roles';
import {
  BroadcastStore,
  createRedisConnection,
  DeadLetterStore,
  enforceRedisSafety,
  OnceClaims,
  RoleQueues,
  ScheduleStore,
  taskIndexLimits,
  TaskStore,
  WorkerRegistry,
  TaskyardKeys,
  type RedisClient,
} from '@taskyard/store';
import { Circuits } from './breaker/circuits';
import { BroadcastDispatcher, type BroadcastTarget } from './broadcasts/broadcast-dispatcher';
import { BroadcastListener } from './broadcasts/broadcast-listener';
import { WorkerLogLevels } from './broadcasts/log-levels';
import type { TaskyardWorker } from './bullmq-worker';
import { Cancellations } from './cancellations';
import { EffectsLedger } from './effects-ledger';
import { IsolatedRoles } from './isolated/isolated-roles';
import { Notifier } from './notifier';
import { createRoleWorker } from './role-worker';
import { ScheduleRunner } from './schedules/schedule-runner';
import { IndexSweeper } from './index-sweeper';
import { WorkerHeartbeat } from './worker-heartbeat';
import { WorkerMetrics } from './worker-metrics';

export interface WorkerRuntimeOptions {
  config: TaskyardConfig;
  logger: Logger;
  /** All roles (follow-up tasks may go to roles this process does not run). */
  registry: RoleRegistry;
  /** Starts the process's graceful shutdown (SIGTERM's), for a `drain` broadcast. */
  onDrain?: () => void;
}

/**
 * Everything one worker process runs: one shared Redis connection, one BullMQ Worker per role
 * in ROLES, the schedules' runner, the dispatcher for follow-up tasks, one notifier for every pub/sub channel
 * (cancellations, circuits, broadcasts), and the metrics they report to.
 */
export class WorkerRuntime {
  readonly metrics: WorkerMetrics;
  readonly redis: RedisClient;
  private readonly workers: TaskyardWorker[];
  private readonly queues: RoleQueues;
  private readonly isolated: IsolatedRoles;
  private readonly pools: RolePools;
  private readonly notifier: Notifier;
  private readonly circuits: Circuits;
  private readonly schedules: ScheduleStore;
  private readonly scheduleRunner: ScheduleRunner;
  private readonly heartbeat: WorkerHeartbeat;
  private readonly indexSweeper: IndexSweeper;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerRuntimeOptions) {
    const { config, logger, registry } = options;
    const workerName = `${hostname()}:${process.pid}`;
    this.metrics = new WorkerMetrics();
    this.redis = createRedisConnection(config, 'worker', { name: `taskyard-worker:${workerName}` });
    let redisDown = false;
    this.redis.on('error', (err) => {
      if (!redisDown) logger.warn({ err }, 'redis connection lost; workers resume by themselves when it returns');
      redisDown = true;
    });
    this.redis.on('ready', () => {
      if (redisDown) logger.info('redis connection restored');
      redisDown = false;
    });
    // One line per attempt, at debug: the warning above says it once.
    this.redis.on('reconnecting', (delayMs: number) => logger.debug({ delayMs }, 'reconnecting to redis'));
    const keys = new TaskyardKeys(config.queuePrefix);
    this.queues = new RoleQueues(this.redis, keys, registry.names(), config.queueEventsMaxLen);
    const store = new TaskStore(this.redis, keys, this.queues, taskIndexLimits((role) => registry.get(role), config));
    const signer = new MessageSigner(config.signingKeys);
    this.isolated = new IsolatedRoles(config, logger, this.metrics);
    this.notifier = new Notifier(config, logger, workerName);
    const cancellations = new Cancellations(store.records, keys, logger);
    cancellations.attach(this.notifier);
    const roles = config.roles.map((name) => registry.get(name)!);
    const logLevels = new WorkerLogLevels(logger, config.logLevel, config.roles);
    this.pools = new RolePools(roles, this.metrics.registry, logger);
    this.circuits = new Circuits({ roles, redis: this.redis, keys, queues: this.queues, logger, registry: this.metrics.registry, replica: workerName });
    this.circuits.attach(this.notifier);
    const dispatcher = new Dispatcher({ registry, store, signer, config });
    this.schedules = new ScheduleStore(this.redis, keys);
    this.scheduleRunner = new ScheduleRunner({ redis: this.redis, keys, store: this.schedules, dispatcher, config, logger, registry: this.metrics.registry, workerName });
    const deps = {
      config,
      redis: this.redis,
      keys,
      queues: this.queues,
      signer,
      logger,
      metrics: this.metrics,
      workerName,
      roleLogger: (role: string) => logLevels.forRole(role),
      ledger: new EffectsLedger(store.records, config, logger),
      cancellations,
      deadLetters: new DeadLetterStore(this.redis, keys, config.deadLetterTtlMs),
      isolated: this.isolated,
      circuits: this.circuits,
      context: { dispatcher, redis: this.redis, config, onceClaims: new OnceClaims(this.redis, keys), pools: this.pools },
    };
    this.workers = roles.map((role) => createRoleWorker(role, deps));
    const workerRegistry = new WorkerRegistry(this.redis, keys, config.workerHeartbeatMs, logger);
    this.heartbeat = new WorkerHeartbeat(this.redis, workerRegistry, roles, this.workers, config.workerHeartbeatMs, logger);
    this.indexSweeper = new IndexSweeper(this.redis, store.index, config.roles, logger);
    const broadcasts = new BroadcastStore(this.redis, keys, config.broadcastRetentionMs);
    const refreshLogLevels = async () => logLevels.apply(await broadcasts.logLevels());
    const workersByRole = new Map(this.workers.map((worker) => [worker.name, worker]));
    const target: BroadcastTarget = {
      workerId: this.heartbeat.id,
      roles,
      active: (role) => (role === undefined ? this.workers : [workersByRole.get(role)]).reduce((sum, worker) => sum + (worker?.activeJobIds().length ?? 0), 0),
      refreshLogLevels,
      levelOf: (role) => logLevels.levelOf(role),
      roleLogger: (role) => logLevels.forRole(role),
      // Once: a drain during a shutdown (a SIGTERM's, another drain's) changes nothing.
      drain: () => {
        if (!this.closing) options.onDrain?.();
      },
    };
    new BroadcastListener({
      store: broadcasts,
      keys,
      signer,
      dispatcher: new BroadcastDispatcher(target, logger),
      workerId: this.heartbeat.id,
      logger,
      refreshLogLevels,
      retentionMs: config.broadcastRetentionMs,
      clockSkewMs: config.messageClockSkewMs,
    }).attach(this.notifier);
  }

  /**
   * Checks Redis' safety settings once it answers (warnings; with REQUIRE_SAFE_REDIS an
   * UnsafeRedisError before any job is taken), then starts taking jobs.
   */
  async start(): Promise<void> {
    const { logger, config } = this.options;
    await enforceRedisSafety(this.redis, { logger, requireSafe: config.requireSafeRedis });
    // Listening (cancellations, the other replicas' circuits) before any job is taken.
    await this.notifier.start();
    for (const worker of this.workers) {
      void worker.run().catch((err: unknown) => logger.error({ err, role: worker.name }, 'worker stopped with an error'));
    }
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
    // Every worker process takes schedules' runs, whatever its roles: they only enqueue.
    await this.scheduleRunner.start();
    await this.heartbeat.start();
    this.indexSweeper.start();
    logger.info({ roles: config.roles }, 'workers started');
  }

  isReady(): boolean {
    return this.redis.status === 'ready' && this.workers.every((worker) => worker.isRunning());
  }

  /** Stops taking jobs, lets active ones finish, then closes connections. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.workers.map((worker) => worker.close()), this.scheduleRunner.close(), this.indexSweeper.stop()]);
      // Live until its last task finished: then it leaves the registry.
      await this.heartbeat.stop();
      // After the workers: an isolated role's active tasks still need their child processes.
      await this.isolated.close();
      // After the workers too: their finished tasks have given every resource back.
      await this.pools.drain();
      await this.notifier.close();
      this.circuits.close();
      await Promise.all([this.queues.close(), this.schedules.close()]);
      await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closing;
  }
}
