import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, PublishBodySchema, PublishedSchema, TopicParamsSchema } from '@taskyard/shared';
import type { TaskSubmitter } from '../tasks/task-submitter';

export interface TopicsRoutesOptions {
  submitter: TaskSubmitter;
}

const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  413: ErrorBodySchema,
  415: ErrorBodySchema,
  429: ErrorBodySchema,
  503: ErrorBodySchema,
};

/** Topic messaging: a message for whoever subscribes, beside direct tasks to one role (POST /v1/tasks). */
export const topicsRoutes: FastifyPluginAsyncZod<TopicsRoutesOptions> = async (app, { submitter }) => {
  app.post(
    '/topics/:topic',
    {
      schema: {
        tags: ['topics'],
        summary: 'Publish to a topic: one task for every role that subscribes to it (all or none are enqueued)',
        params: TopicParamsSchema,
        body: PublishBodySchema,
        response: { 202: PublishedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const published = await submitter.publish(request.params.topic, request.body, request.apiKeyId!);
      void reply.status(202);
      return published;
    },
  );
};
