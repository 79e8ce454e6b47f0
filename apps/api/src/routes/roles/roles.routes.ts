import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, RoleListSchema, type Redis, type RoleQueues, type RoleRegistry } from '@taskyard/shared';
import { withRedis } from '../../errors/redis-guard';
import { toTaskCounts } from '../../tasks/bullmq-states';

export interface RolesRoutesOptions {
  registry: RoleRegistry;
  queues: RoleQueues;
  redis: Redis;
}

export const rolesRoutes: FastifyPluginAsyncZod<RolesRoutesOptions> = async (app, { registry, queues, redis }) => {
  app.get(
    '/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'Every role with its settings and live queue counts',
        response: { 200: RoleListSchema, 401: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async () => {
      const roles = await withRedis(redis, () =>
        Promise.all(
          registry.all().map(async (role) => {
            const queue = queues.get(role.name);
            const counts = toTaskCounts(await queue.getJobCounts());
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
              ...(role.maxQueueDepth !== undefined ? { maxQueueDepth: role.maxQueueDepth } : {}),
              ...(role.breaker ? { breaker: role.breaker } : {}),
              counts,
            };
          }),
        ),
      );
      return { roles };
    },
  );
};
