import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, PublishBodySchema, PublishedSchema, TopicParamsSchema } from '@taskyard/contracts';
import { documentedRoute } from '../tasks/documented-route';
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from '../tasks/idempotency-key';
import type { TaskSubmission } from '../tasks/task-submission';

export interface TopicsRoutesOptions {
  submission: TaskSubmission;
}

const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  413: ErrorBodySchema,
  415: ErrorBodySchema,
  422: ErrorBodySchema,
  429: ErrorBodySchema,
  503: ErrorBodySchema,
};

/** Topic messaging: a message for whoever subscribes, beside direct tasks to one role (POST /v1/tasks). */
export const topicsRoutes: FastifyPluginAsyncZod<TopicsRoutesOptions> = async (app, { submission }) => {
  app.post(
    '/topics/:topic',
    {
      schema: {
        tags: ['topics'],
        summary: 'Publish to a topic: one task for every role that subscribes to it, all checked before any is enqueued (all or none on one Redis; see the README for a cluster)',
        params: TopicParamsSchema,
        body: PublishBodySchema,
        response: { 202: PublishedSchema, ...errors },
      },
      config: documentedRoute({ idempotencyKey: true }),
    },
    async (request, reply) => {
      const { response, replayed } = await submission.publish(request.params.topic, request.body, request.principal!, idempotencyKeyOf(request.headers));
      if (replayed) void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      void reply.status(202);
      return response;
    },
  );
};
