import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RedisClient } from '@taskyard/store';

const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.enum(['ok', 'unavailable'])).optional(),
});

/** Liveness says the process is up; readiness that it can take tasks (Redis answers a PING in time). */
export const healthRoutes: FastifyPluginAsyncZod<{ redis: RedisClient; timeoutMs: number }> = async (app, { redis, timeoutMs }) => {
  app.get('/live', { schema: { tags: ['health'], security: [], response: { 200: HealthSchema } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/ready',
    { schema: { tags: ['health'], security: [], response: { 200: HealthSchema, 503: HealthSchema } } },
    async (_request, reply) => {
      const redisOk = await pingWithin(redis, timeoutMs);
      void reply.status(redisOk ? 200 : 503);
      return { status: redisOk ? ('ok' as const) : ('unavailable' as const), checks: { redis: redisOk ? ('ok' as const) : ('unavailable' as const) } };
    },
  );
};

async function pingWithin(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((reply) => reply === 'PONG'),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
