import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { TaskyardConfig } from '@taskyard/config';
import { MessageSigner } from '@taskyard/crypto';
import { Dispatcher } from '@taskyard/dispatch';
import type { Logger } from '@taskyard/observability';
import type { RoleRegistry } from '@taskyard/roles';
import { BroadcastStore, createRedisConnection, DeadLetterStore, IdempotencyRecords, RoleQueues, ScheduleStore, taskIndexLimits, TaskStore, TaskyardKeys, WorkerRegistry, WorkflowRecords, type RedisClient } from '@taskyard/store';
import { frameworkErrorHandler, installErrorHandler } from './errors/error-handler';
import { ApiKeyRing } from './auth/api-key-ring';
import { ApiKeysWatcher } from './auth/api-keys-watcher';
import { AuditLog } from './auth/audit-log';
import { AuthFailureLimiter } from './auth/auth-failure-limiter';
import { ApiMetrics } from './plugins/api-metrics';
import { authPlugin } from './plugins/auth';
import { lazyRequestLogger } from './plugins/lazy-request-logger';
import { loadSheddingPlugin } from './plugins/load-shedding';
import { rateLimitPlugin } from './plugins/rate-limit';
import { BULL_BOARD_PATH, bullBoardRoutes } from './plugins/bull-board';
import { metricsPlugin } from './plugins/metrics';
import { securityHeadersPlugin } from './plugins/security-headers';
import { openApiPlugin } from './plugins/openapi';
import { Broadcasts } from './routes/broadcasts/broadcasts';
import { broadcastsRoutes } from './routes/broadcasts/broadcasts.routes';
import { deadLettersRoutes } from './routes/dead-letters/dead-letters.routes';
import { documentsRoutes } from './routes/documents/documents.routes';
import { healthRoutes } from './routes/health/health.routes';
import { rolesRoutes } from './routes/roles/roles.routes';
import { workersRoutes } from './routes/workers/workers.routes';
import { IdempotencyLedger } from './routes/tasks/idempotency-ledger';
import { TaskCanceller } from './routes/tasks/task-canceller';
import { TaskSubmission } from './routes/tasks/task-submission';
import { eventsRoutes } from './routes/events/events.routes';
import { RoleEventFeeds } from './routes/events/role-event-feeds';
import { TaskEventMapper } from './routes/events/task-event-mapper';
import { TaskEventStreams } from './routes/events/task-event-streams';
import { TaskSearcher } from './routes/tasks/task-search';
import { tasksRoutes } from './routes/tasks/tasks.routes';
import { topicsRoutes } from './routes/topics/topics.routes';
import { Schedules } from './routes/schedules/schedules';
import { schedulesRoutes } from './routes/schedules/schedules.routes';
import { Workflows } from './routes/workflows/workflows';
import { workflowsRoutes } from './routes/workflows/workflows.routes';

export interface AppDeps {
  config: TaskyardConfig;
  logger: Logger;
  /** A producer connection (createRedisConnection(config, 'producer')); the app does not close it. */
  redis: RedisClient;
  /** The deployment's roles, with its settings applied (effectiveRoles). */
  registry: RoleRegistry;
}

/** TRUST_PROXY as Fastify takes it. */
function trustProxyOption(trust: TaskyardConfig['trustProxy']): boolean | string[] {
  return typeof trust === 'boolean' ? trust : [...trust];
}

/** Builds the API; never listens (main.ts does, tests may inject or listen on port 0). */
export async function buildApp({ config, logger, redis, registry }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // Per-request info logs cost more than the rest of a submit; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made when a request logs, not for every request.
    childLoggerFactory: lazyRequestLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestTimeout: 30_000,
    // Which X-Forwarded-For to believe for request.ip (TRUST_PROXY).
    trustProxy: trustProxyOption(config.trustProxy),
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: Fastify would otherwise accept text/plain bodies as strings.
  app.removeContentTypeParser('text/plain');
  installErrorHandler(app);

  const keys = new TaskyardKeys(config.queuePrefix);
  const queues = new RoleQueues(redis, keys, registry.names(), config.queueEventsMaxLen);
  const store = new TaskStore(redis, keys, queues, taskIndexLimits((role) => registry.get(role), config));
  const workerRegistry = new WorkerRegistry(redis, keys, config.workerHeartbeatMs, logger);
  const metrics = new ApiMetrics(queues, workerRegistry);
  const signer = new MessageSigner(config.signingKeys);
  const dispatcher = new Dispatcher({
    registry,
    store,
    signer,
    config,
    onEnqueued: (counts) => counts.forEach((count, role) => metrics.countSubmitted(role, count)),
  });
  const deadLetters = new DeadLetterStore(redis, keys, config.deadLetterTtlMs);
  const scheduleStore = new ScheduleStore(redis, keys);
  app.addHook('onClose', () => Promise.all([queues.close(), scheduleStore.close()]).then(() => undefined));

  // One reader of BullMQ's events per followed role, shared by every live stream of the process.
  const feeds = new RoleEventFeeds({ redis, queues, logger, connect: (name) => createRedisConnection(config, 'worker', { name }) });
  const streams = new TaskEventStreams({ feeds, mapper: new TaskEventMapper(store), store, registry, redis, limits: config.events });
  // Open streams would hold the server open: they end (event: end, shutdown) as it starts closing.
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', () => feeds.close());

  const ring = new ApiKeyRing(config.apiKeys);
  const audit = new AuditLog(logger, metrics.registry);
  if (config.apiKeysFile !== undefined) {
    const watcher = new ApiKeysWatcher(config.apiKeysFile, config.envApiKeys, ring, logger, audit, metrics.registry);
    watcher.start();
    app.addHook('onClose', async () => watcher.stop());
  }

  await app.register(securityHeadersPlugin);
  if (config.docsEnabled) await app.register(openApiPlugin);
  await app.register(authPlugin, { ring, limiter: new AuthFailureLimiter(config.authFailuresPerMinute), audit });
  await app.register(metricsPlugin, { metrics, token: config.metricsToken });
  await app.register(healthRoutes, { prefix: '/health', redis, timeoutMs: config.redisTimeoutMs });

  await app.register(
    async (v1) => {
      // Shedding first: an overloaded process should spend nothing on a request it refuses.
      await v1.register(loadSheddingPlugin, { pressure: config.pressure });
      v1.addHook('onRequest', v1.requireApiKey);
      await v1.register(rateLimitPlugin, { perMinute: config.rateLimitPerMinute, redis, namespace: keys.rateLimitNamespace });
      const ledger = new IdempotencyLedger(redis, new IdempotencyRecords(redis, keys), config.idempotencyTtlMs);
      const submission = new TaskSubmission({ dispatcher, ledger, redis, store });
      await v1.register(topicsRoutes, { submission });
      const canceller = new TaskCanceller({ store, registry, redis, keys, config });
      await v1.register(tasksRoutes, { submission, store, redis, registry, canceller, searcher: new TaskSearcher({ index: store.index, registry, redis }) });
      await v1.register(eventsRoutes, { streams });
      const workflows = new Workflows({ dispatcher, store, records: new WorkflowRecords(redis, keys), redis, canceller, config, registry });
      await v1.register(workflowsRoutes, { workflows });
      await v1.register(schedulesRoutes, { schedules: new Schedules({ dispatcher, store: scheduleStore, redis, maxPerTenant: config.schedulesMaxPerTenant }) });
      await v1.register(rolesRoutes, { registry, queues, redis, keys, worker: config.worker, workers: workerRegistry });
      await v1.register(workersRoutes, { workers: workerRegistry, redis });
      const broadcastStore = new BroadcastStore(redis, keys, config.broadcastRetentionMs);
      await v1.register(broadcastsRoutes, { broadcasts: new Broadcasts({ registry, store: broadcastStore, queues, workers: workerRegistry, signer, redis }) });
      await v1.register(documentsRoutes, { redis, keyPrefix: config.queuePrefix });
      await v1.register(deadLettersRoutes, { store: deadLetters, registry, dispatcher, signer, redis });
    },
    { prefix: '/v1' },
  );
  await app.register(bullBoardRoutes, { prefix: BULL_BOARD_PATH, queues, registry });
  return app;
}
