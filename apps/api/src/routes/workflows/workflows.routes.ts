import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ErrorBodySchema,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  WORKFLOW_DEPTH_LIMIT,
  SubmitWorkflowBodySchema,
  WorkflowAcceptedSchema,
  WorkflowCancelledSchema,
  WorkflowIdParamsSchema,
  WorkflowViewSchema,
} from '@taskyard/contracts';
import { ApiError } from '../../errors/api-error';
import type { Workflows } from './workflows';

/**
 * The deepest a workflow body may nest before its schema is applied: two levels per node (the
 * node, its children), a payload's own depth, a few for the body around them. The node schema is
 * recursive, so a body nested far deeper would exhaust the stack rather than fail to validate.
 */
const MAX_BODY_DEPTH = 2 * WORKFLOW_DEPTH_LIMIT + MAX_JSON_DEPTH + 4;

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema };

export const workflowsRoutes: FastifyPluginAsyncZod<{ workflows: Workflows }> = async (app, { workflows }) => {
  app.post(
    '/workflows',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Submit a workflow: a tree of tasks, each run after its children (BullMQ flow); every node is checked before any is enqueued',
        body: SubmitWorkflowBodySchema,
        response: { 202: WorkflowAcceptedSchema, ...errors, 413: ErrorBodySchema, 415: ErrorBodySchema, 429: ErrorBodySchema },
      },
      // Each node's role needs its submit scope, checked per node by the dispatcher.
      preValidation: async (request) => {
        if (jsonDepthExceeds(request.body, MAX_BODY_DEPTH)) {
          throw new ApiError('VALIDATION_FAILED', `the workflow nests deeper than ${WORKFLOW_DEPTH_LIMIT} levels`, [{ field: 'root', message: 'too deeply nested' }]);
        }
      },
    },
    async (request, reply) => {
      const accepted = await workflows.submit(request.body, request.principal!);
      void reply.status(202).header('location', `/v1/workflows/${accepted.id}`);
      return accepted;
    },
  );

  app.get(
    '/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        summary: "A workflow: its state and every node's task id, role, state, result or error",
        params: WorkflowIdParamsSchema,
        response: { 200: WorkflowViewSchema, ...errors },
      },
      config: { scope: 'tasks:read' },
    },
    async (request) => workflows.view(request.params.id, request.principal!),
  );

  app.delete(
    '/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        summary: 'Cancel a workflow: every unfinished node is cancelled (queued ones removed, running ones aborted)',
        params: WorkflowIdParamsSchema,
        response: { 200: WorkflowCancelledSchema, ...errors },
      },
      config: { scope: 'tasks:cancel' },
    },
    async (request) => workflows.cancel(request.params.id, request.principal!),
  );
};
