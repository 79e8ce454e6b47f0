import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  canSeeTenant,
  BulkReplayBodySchema,
  BulkReplayResultSchema,
  decodeDeadLetterCursor,
  DeadLetterIdParamsSchema,
  DeadLetterListQuerySchema,
  DeadLetterListSchema,
  DeadLetterSchema,
  ErrorBodySchema,
  MAX_DEAD_LETTER_PAGE,
  ReplayAcceptedSchema,
  summarizeDeadLetter,
  type DeadLetter,
} from '@taskyard/contracts';
import type { RedisClient } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import { requireRole } from '../require-role';
import { deadLetterNotFound, DeadLetterReplayer, type DeadLetterReplayerDeps } from './dead-letter-replayer';

/** The routes need what the replayer needs (the store, the roles, the dispatcher, the signer) and the connection. */
export interface DeadLettersRoutesOptions extends DeadLetterReplayerDeps {
  redis: RedisClient;
}

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema };
/** Every dead-letter route: list, read, replay, delete. */
const config = { scope: 'dead-letters:manage' } as const;
const tags = ['dead-letters'];

export const deadLettersRoutes: FastifyPluginAsyncZod<DeadLettersRoutesOptions> = async (app, options) => {
  const { store, registry, redis } = options;
  const replayer = new DeadLetterReplayer(options);

  app.get(
    '/dead-letters',
    {
      schema: {
        tags,
        summary: 'Dead letters, newest first (tasks that failed permanently or ran out of attempts)',
        querystring: DeadLetterListQuerySchema,
        response: { 200: DeadLetterListSchema, ...errors },
      },
      config,
    },
    async (request) => {
      const { role, limit, cursor } = request.query;
      if (role !== undefined) requireRole(registry, role);
      if (cursor !== undefined && !decodeDeadLetterCursor(cursor)) {
        throw new ApiError('VALIDATION_FAILED', 'the cursor is not one this API gave out', [
          { field: 'querystring.cursor', message: 'pass the nextCursor of a previous page, unchanged' },
        ]);
      }
      const principal = request.principal!;
      const visible = principal.tenant === undefined ? undefined : (letter: DeadLetter) => canSeeTenant(principal, letter.tenant);
      const page = await withRedis(redis, () => store.list({ roles: role === undefined ? registry.names() : [role], limit, cursor, visible }));
      return { items: page.items.map(summarizeDeadLetter), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/dead-letters/:id',
    {
      schema: {
        tags,
        summary: 'A dead letter: its signed message, every attempt’s error and the timestamps',
        params: DeadLetterIdParamsSchema,
        response: { 200: DeadLetterSchema, ...errors },
      },
      config,
    },
    async (request) => {
      const letter = await withRedis(redis, () => store.get(request.params.id));
      if (!letter || !canSeeTenant(request.principal!, letter.tenant)) throw deadLetterNotFound(request.params.id);
      return letter;
    },
  );

  app.post(
    '/dead-letters/:id/replay',
    {
      schema: {
        tags,
        summary: 'Replay a dead letter as a new task (causationId = the dead task); the dead letter is removed',
        params: DeadLetterIdParamsSchema,
        response: { 202: ReplayAcceptedSchema, ...errors, 422: ErrorBodySchema, 429: ErrorBodySchema },
      },
      config,
    },
    async (request, reply) => {
      const accepted = await withRedis(redis, () => replayer.replayOne(request.params.id, request.principal!));
      void reply.status(202).header('location', `/v1/tasks/${accepted.id}`);
      return accepted;
    },
  );

  app.post(
    '/dead-letters/replay',
    {
      schema: {
        tags,
        summary: `Replay a role’s dead letters: the given ids, or its oldest ${MAX_DEAD_LETTER_PAGE}`,
        body: BulkReplayBodySchema,
        response: { 202: BulkReplayResultSchema, ...errors, 429: ErrorBodySchema },
      },
      config,
    },
    async (request, reply) => {
      const { role, ids } = request.body;
      const result = await withRedis(redis, () => replayer.replayMany(role, ids, request.principal!, MAX_DEAD_LETTER_PAGE));
      app.audit.action('dead-letters.bulk-replay', { keyId: request.principal!.keyId, role, requested: ids?.length ?? null, replayed: result.replayed.length, refused: result.refused.length });
      void reply.status(202);
      return result;
    },
  );

  app.delete(
    '/dead-letters/:id',
    {
      schema: {
        tags,
        summary: 'Delete a dead letter without replaying it',
        params: DeadLetterIdParamsSchema,
        response: { 204: z.null().describe('Deleted'), ...errors },
      },
      config,
    },
    async (request, reply) => {
      const { id } = request.params;
      const letter = await withRedis(redis, () => store.get(id));
      if (!letter || !canSeeTenant(request.principal!, letter.tenant)) throw deadLetterNotFound(id);
      const removed = await withRedis(redis, () => store.remove(id));
      if (!removed) throw deadLetterNotFound(id);
      app.audit.action('dead-letters.delete', { keyId: request.principal!.keyId, deadLetterId: id, role: letter.role });
      return reply.status(204).send(null);
    },
  );
};
