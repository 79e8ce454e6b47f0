import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, WorkerListSchema } from '@taskyard/contracts';
import type { RedisClient, WorkerRegistry } from '@taskyard/store';
import { withRedis } from '../../errors/redis-guard';

/** GET /v1/workers: the live worker processes (the worker registry). Deployment-wide, so for operators. */
export const workersRoutes: FastifyPluginAsyncZod<{ workers: WorkerRegistry; redis: RedisClient }> = async (app, { workers, redis }) => {
  app.get(
    '/workers',
    {
      schema: {
        tags: ['workers'],
        summary: 'Live worker processes: their roles and concurrency, version, when they started and last heartbeated, and what they ran',
        response: { 200: WorkerListSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 503: ErrorBodySchema },
      },
      config: { scope: 'dashboard:read', operatorsOnly: 'the worker list is deployment-wide' },
    },
    async () => {
      const { workers: items } = await withRedis(redis, () => workers.live());
      return { items };
    },
  );
};
