import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, maxMessageAgeMs, RoleListSchema, type WorkerTimings } from '@taskyard/contracts';
import type { RoleRegistry } from '@taskyard/roles';
import { readCircuitStates, type RedisClient, type RoleQueues, type TaskyardKeys, type WorkerRegistry } from '@taskyard/store';
import { withRedis } from '../../errors/redis-guard';

export interface RolesRoutesOptions {
  registry: RoleRegistry;
  queues: RoleQueues;
  redis: RedisClient;
  /** Where the roles' shared circuit breaker state lives. */
  keys: TaskyardKeys;
  /** The workers' lock timings, which a role's default maxAgeMs is derived from. */
  worker: WorkerTimings;
  /** Live workers per role. */
  workers: WorkerRegistry;
}

export const rolesRoutes: FastifyPluginAsyncZod<RolesRoutesOptions> = async (app, { registry, queues, redis, keys, worker, workers }) => {
  app.get(
    '/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'Every role with its settings, live queue counts, circuit breaker state and live workers',
        response: { 200: RoleListSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 503: ErrorBodySchema },
      },
      config: { scope: 'tasks:read' },
    },
    async () => {
      const roles = await withRedis(redis, async () => {
        // The registry adds two fields: a failure to read it leaves them null rather than failing the list.
        const [circuits, live] = await Promise.all([readCircuitStates(redis, keys, registry.all()), workers.live().catch(() => undefined)]);
        return Promise.all(
          registry.all().map(async (role) => {
            const queue = queues.get(role.name);
            const counts = await queues.counts(role.name);
            const serving = live ? live.workers.filter((entry) => entry.roles.some((served) => served.name === role.name)).length : null;
            return {
              name: role.name,
              description: role.description,
              queue: `${queue.opts.prefix ?? 'bull'}:${queue.name}`,
              concurrency: role.concurrency,
              attempts: role.attempts,
              backoff: role.backoff,
              ...(role.rateLimit ? { rateLimit: role.rateLimit } : {}),
              timeoutMs: role.timeoutMs,
              isolated: role.isolated,
              maxAttempts: role.maxAttempts,
              maxDelayMs: role.maxDelayMs,
              maxAgeMs: maxMessageAgeMs(role, worker),
              sensitive: role.sensitive,
              ...(role.maxQueueDepth !== undefined ? { maxQueueDepth: role.maxQueueDepth } : {}),
              ...(role.breaker ? { breaker: role.breaker } : {}),
              ...(role.fair ? { fair: role.fair } : {}),
              ...(role.acceptFrom ? { acceptFrom: role.acceptFrom } : {}),
              ...(role.topics ? { topics: role.topics } : {}),
              counts,
              circuit: circuits.get(role.name) ?? 'closed',
              workers: serving,
              // Waiting work and nobody to take it (delayed tasks are not due yet).
              unattended: serving === null ? null : serving === 0 && counts.queued > 0,
            };
          }),
        );
      });
      return { roles };
    },
  );
};
