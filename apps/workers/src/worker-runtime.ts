import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import {
  checkRedisSafety,
  createRedisConnection,
  MessageSigner,
  RoleQueues,
  WorkerMetrics,
  type Logger,
  type Redis,
  type RoleRegistry,
  type TaskyardConfig,
} from '@taskyard/shared';
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
    this.queues = new RoleQueues(this.redis, config.queuePrefix, registry);
    const deps = {
      registry,
      queues: this.queues,
      signer: new MessageSigner(config.signingKeys),
      redis: this.redis,
      config,
      logger,
      metrics: this.metrics,
      workerName,
    };
    this.workers = config.roles.map((name) => createRoleWorker(registry.get(name)!, deps));
  }

  /** Checks Redis' safety settings, then starts taking jobs. */
  async start(): Promise<void> {
    const { logger, config } = this.options;
    const safety = await checkRedisSafety(this.redis);
    for (const warning of safety.warnings) logger.warn({ maxmemoryPolicy: safety.maxmemoryPolicy }, warning);
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
      await this.queues.close();
      await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closing;
  }
}
