import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import {
  createRedisConnection,
  enforceRedisSafety,
  MessageSigner,
  RoleQueues,
  TaskyardKeys,
  WorkerMetrics,
  type Logger,
  type Redis,
  type RoleRegistry,
  type TaskyardConfig,
} from '@taskyard/shared';
import { Circuits } from './breaker/circuits';
import { CancellationListener } from './cancellation-listener';
import { EffectsLedger } from './effects-ledger';
import { IsolatedRoles } from './isolated/isolated-roles';
import { createRoleWorker } from './role-worker';

export interface WorkerRuntimeOptions {
  config: TaskyardConfig;
  logger: Logger;
  /** All roles (follow-up tasks may go to roles this process does not run). */
  registry: RoleRegistry;
}

/**
 * Everything one worker process runs: one shared Redis connection, one BullMQ Worker per role
 * in ROLES, queues for follow-up tasks, and the metrics they report to.
 */
export class WorkerRuntime {
  readonly metrics: WorkerMetrics;
  readonly redis: Redis;
  private readonly workers: Worker[];
  private readonly queues: RoleQueues;
  private readonly isolated: IsolatedRoles;
  private readonly cancellations: CancellationListener;
  private readonly circuits: Circuits;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerRuntimeOptions) {
    const { config, logger, registry } = options;
    const workerName = `${hostname()}:${process.pid}`;
    this.metrics = new WorkerMetrics();
    this.redis = createRedisConnection(config.redisUrl, 'worker', { name: `taskyard-worker:${workerName}` });
    let redisDown = false;
    this.redis.on('error', (err) => {
      if (!redisDown) logger.warn({ err }, 'redis connection lost; workers resume by themselves when it returns');
      redisDown = true;
    });
    this.redis.on('ready', () => {
      if (redisDown) logger.info('redis connection restored');
      redisDown = false;
    });
    this.queues = new RoleQueues(this.redis, config.queuePrefix, registry, config.queueEventsMaxLen);
    this.isolated = new IsolatedRoles(config, logger, this.metrics);
    const keys = new TaskyardKeys(config.queuePrefix);
    this.cancellations = new CancellationListener(config, keys, logger, workerName, this.redis);
    this.circuits = new Circuits({
      roles: config.roles.map((name) => registry.get(name)!),
      redis: this.redis,
      redisUrl: config.redisUrl,
      queuePrefix: config.queuePrefix,
      queues: this.queues,
      logger,
      registry: this.metrics.registry,
      replica: workerName,
    });
    const deps = {
      registry,
      queues: this.queues,
      signer: new MessageSigner(config.signingKeys),
      redis: this.redis,
      config,
      logger,
      metrics: this.metrics,
      workerName,
      isolated: this.isolated,
      keys,
      ledger: new EffectsLedger(this.redis, config, keys, logger),
      attempts: this.cancellations.attempts,
      circuits: this.circuits,
    };
    this.workers = config.roles.map((name) => createRoleWorker(registry.get(name)!, deps));
  }

  /**
   * Checks Redis' safety settings once it answers (warnings; with REQUIRE_SAFE_REDIS an
   * UnsafeRedisError before any job is taken), then starts taking jobs.
   */
  async start(): Promise<void> {
    const { logger, config } = this.options;
    await enforceRedisSafety(this.redis, { logger, requireSafe: config.requireSafeRedis });
    // Listening before any job is taken, so no attempt can miss its cancellation.
    await this.cancellations.start();
    // Following the other replicas' circuits before any job is taken.
    await this.circuits.start();
    for (const worker of this.workers) {
      void worker.run().catch((err: unknown) => logger.error({ err, role: worker.name }, 'worker stopped with an error'));
    }
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
    logger.info({ roles: config.roles }, 'workers started');
  }

  isReady(): boolean {
    return this.redis.status === 'ready' && this.workers.every((worker) => worker.isRunning());
  }

  /** Stops taking jobs, lets active ones finish, then closes connections. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.workers.map((worker) => worker.close()));
      // After the workers: an isolated role's active tasks still need their child processes.
      await this.isolated.close();
      await this.cancellations.close();
      await this.circuits.close();
      await this.queues.close();
      await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closing;
  }
}
