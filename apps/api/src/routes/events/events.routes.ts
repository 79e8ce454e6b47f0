import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBodySchema, EventStreamQuerySchema, LastEventIdHeadersSchema, TaskIdParamsSchema } from '@taskyard/contracts';
import type { TaskEventStreams } from './task-event-streams';

export interface EventsRoutesOptions {
  streams: TaskEventStreams;
}

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
const eventStream = z
  .string()
  .describe(
    'text/event-stream: `event: state` ({ taskId, role, state, at, result?, error?, correlationId?, workflowId? }), `event: progress` ({ taskId, role, progress, at }), each with an `id:` to resume from (Last-Event-ID); `: keep-alive` comments; a last `event: end` ({ reason }) when the server ends it early',
  );

export const eventsRoutes: FastifyPluginAsyncZod<EventsRoutesOptions> = async (app, { streams }) => {
  app.get(
    '/tasks/:id/events',
    {
      schema: {
        tags: ['events'],
        summary: "A task's state changes and progress as they happen (Server-Sent Events), from its current state until it ends",
        params: TaskIdParamsSchema,
        headers: LastEventIdHeadersSchema,
        response: { 200: eventStream, ...errors },
      },
      config: { scope: 'tasks:read' },
    },
    async (request, reply) => streams.followTask(request, reply, request.params.id, request.headers['last-event-id']),
  );

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: "Every state change and progress of the caller's tenant's tasks, filtered by role, correlation id or workflow (Server-Sent Events)",
        querystring: EventStreamQuerySchema,
        headers: LastEventIdHeadersSchema,
        response: { 200: eventStream, ...errors },
      },
      config: { scope: 'tasks:read' },
    },
    async (request, reply) => streams.followAll(request, reply, request.query, request.headers['last-event-id']),
  );
};
