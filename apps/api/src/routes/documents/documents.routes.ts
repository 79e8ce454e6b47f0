import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { canSeeTenant, ErrorBodySchema, TaskIdParamsSchema } from '@taskyard/contracts';
import { DocumentStore, DocumentViewSchema } from '@taskyard/example-roles';
import type { RedisClient } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

/** The document pipeline's result: the report docs.store assembled, read back by document id. */
export const documentsRoutes: FastifyPluginAsyncZod<{ redis: RedisClient; keyPrefix: string }> = async (app, { redis, keyPrefix }) => {
  const store = new DocumentStore(redis, keyPrefix);
  app.get(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'A document submitted to docs.ingest: its status and, once every chunk is analysed, its report',
        params: TaskIdParamsSchema,
        response: { 200: DocumentViewSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema },
      },
      config: { scope: 'tasks:read' },
    },
    async (request) => {
      const document = await withRedis(redis, () => store.read(request.params.id));
      // Another tenant's document answers exactly like an unknown one.
      if (!document || !canSeeTenant(request.principal!, document.tenant)) throw new ApiError('NOT_FOUND', `no document with id "${request.params.id}"`);
      return document.view;
    },
  );
};
