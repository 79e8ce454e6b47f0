import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  canSeeTenant,
  BatchAcceptedSchema,
  CancellationRequestedSchema,
  MAX_BATCH_SIZE,
  ErrorBodySchema,
  SubmitBatchBodySchema,
  SubmitTaskBodySchema,
  TaskAcceptedSchema,
  TaskIdParamsSchema,
  TaskPageSchema,
  TaskSearchQuerySchema,
  TaskViewSchema,
} from '@taskyard/contracts';
import type { RedisClient, TaskStore } from '@taskyard/store';
import { withRedis } from '../../errors/redis-guard';
import { z } from 'zod';
import type { RoleRegistry } from '@taskyard/roles';
import { documentedRoute, submitTaskBodyFor } from './documented-route';
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from './idempotency-key';
import { taskNotFound, type TaskCanceller } from './task-canceller';
import type { TaskSearcher } from './task-search';
import type { TaskSubmission } from './task-submission';

export interface TasksRoutesOptions {
  submission: TaskSubmission;
  store: TaskStore;
  redis: RedisClient;
  canceller: TaskCanceller;
  searcher: TaskSearcher;
  /** For the document: each role's payload schema. */
  registry: RoleRegistry;
}

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema, 503: ErrorBodySchema };
/** Submissions may also meet a reused Idempotency-Key (422) and QUEUE_FULL or RATE_LIMITED (429). */
const submitErrors = { ...errors, 422: ErrorBodySchema, 429: ErrorBodySchema };

export const tasksRoutes: FastifyPluginAsyncZod<TasksRoutesOptions> = async (app, { submission, store, redis, canceller, searcher, registry }) => {
  const documentedBody = submitTaskBodyFor(registry);
  app.post(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a task to a role',
        body: SubmitTaskBodySchema,
        response: { 200: TaskAcceptedSchema, 202: TaskAcceptedSchema, ...submitErrors },
      },
      config: documentedRoute({ body: documentedBody, idempotencyKey: true }),
    },
    async (request, reply) => {
      const { response: accepted, replayed } = await submission.submitOne(request.body, request.principal!, idempotencyKeyOf(request.headers));
      if (replayed) void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      // A duplicate (options.dedupe) enqueued nothing: 200 with the task already there.
      void reply.status(accepted.deduplicated ? 200 : 202).header('location', `/v1/tasks/${accepted.id}`);
      return accepted;
    },
  );

  app.post(
    '/tasks/batch',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit up to 1000 tasks at once; one bad task rejects the whole batch',
        body: SubmitBatchBodySchema,
        response: { 202: BatchAcceptedSchema, ...submitErrors },
      },
      config: documentedRoute({ body: z.object({ tasks: z.array(documentedBody).min(1).max(MAX_BATCH_SIZE) }).strict(), idempotencyKey: true }),
    },
    async (request, reply) => {
      const { response: tasks, replayed } = await submission.submitBatch(request.body.tasks, request.principal!, idempotencyKeyOf(request.headers));
      if (replayed) void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      void reply.status(202);
      return { tasks };
    },
  );

  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Search tasks, newest first: by role, state, correlation id, labels (all must match) and creation time; a tenant key sees its own',
        querystring: TaskSearchQuerySchema,
        response: { 200: TaskPageSchema, ...errors },
      },
      config: { scope: 'tasks:read' },
    },
    async (request) => searcher.search(request.query, request.principal!),
  );

  app.get(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'A task: its state, attempts, result or error, and the history of its states',
        params: TaskIdParamsSchema,
        response: { 200: TaskViewSchema, ...errors },
      },
      config: { scope: 'tasks:read' },
    },
    async (request) => {
      const view = await withRedis(redis, () => store.read(request.params.id));
      // Another tenant's task answers exactly like an unknown one.
      if (!view || !canSeeTenant(request.principal!, view.tenant)) throw taskNotFound(request.params.id);
      return view;
    },
  );

  app.delete(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Cancel a task: a queued or delayed one is removed (200, cancelled); an active one is told to abort (202); 409 once finished',
        params: TaskIdParamsSchema,
        response: { 200: TaskViewSchema, 202: CancellationRequestedSchema, 409: ErrorBodySchema, ...errors },
      },
      config: { scope: 'tasks:cancel' },
    },
    async (request, reply) => {
      const { status, view } = await canceller.cancel(request.params.id, request.principal!);
      void reply.status(status);
      return view;
    },
  );
};
