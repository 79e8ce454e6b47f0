import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  BroadcastAcceptedSchema,
  BroadcastIdParamsSchema,
  BroadcastListQuerySchema,
  BroadcastListSchema,
  BroadcastViewSchema,
  BUILT_IN_BROADCASTS,
  CreateBroadcastBodySchema,
  ErrorBodySchema,
} from '@taskyard/contracts';
import type { Broadcasts } from './broadcasts';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema };
/** Broadcasts reach every worker process, whatever tenant its tasks are of. */
const DEPLOYMENT_WIDE = 'broadcasts reach every worker process of the deployment';

export const broadcastsRoutes: FastifyPluginAsyncZod<{ broadcasts: Broadcasts }> = async (app, { broadcasts }) => {
  app.post(
    '/broadcasts',
    {
      schema: {
        tags: ['broadcasts'],
        summary: `Send an instruction to every live worker process, each of which acknowledges it. Built-in types: ${Object.keys(BUILT_IN_BROADCASTS).join(', ')}; roles add their own (onBroadcast)`,
        body: CreateBroadcastBodySchema,
        response: { 202: BroadcastAcceptedSchema, ...errors, 413: ErrorBodySchema, 415: ErrorBodySchema },
      },
      config: { scope: 'admin', operatorsOnly: DEPLOYMENT_WIDE },
    },
    async (request, reply) => {
      const made = await broadcasts.create(request.body);
      app.audit.action('broadcast', { keyId: request.principal!.keyId, broadcastId: made.id, type: made.type, expected: made.expected.length });
      void reply.status(202).header('location', `/v1/broadcasts/${made.id}`);
      return { id: made.id };
    },
  );

  app.get(
    '/broadcasts',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'Broadcasts within BROADCAST_RETENTION, newest first, each with its acknowledgements',
        querystring: BroadcastListQuerySchema,
        response: { 200: BroadcastListSchema, ...errors },
      },
      config: { scope: 'admin', operatorsOnly: DEPLOYMENT_WIDE },
    },
    async (request) => broadcasts.list(request.query.limit, request.query.cursor),
  );

  app.get(
    '/broadcasts/:id',
    {
      schema: {
        tags: ['broadcasts'],
        summary: 'A broadcast: what it asked, the workers expected to acknowledge it, and their acknowledgements',
        params: BroadcastIdParamsSchema,
        response: { 200: BroadcastViewSchema, ...errors },
      },
      config: { scope: 'admin', operatorsOnly: DEPLOYMENT_WIDE },
    },
    async (request) => broadcasts.get(request.params.id),
  );
};
