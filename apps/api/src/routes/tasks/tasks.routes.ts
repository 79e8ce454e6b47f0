import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  BatchAcceptedSchema,
  ErrorBodySchema,
  SubmitBatchBodySchema,
  SubmitTaskBodySchema,
  TaskAcceptedSchema,
  TaskIdParamsSchema,
  TaskViewSchema,
} from '@taskyard/shared';
import type { TaskSubmitter } from './task-submitter';
import type { TaskReader } from './task-reader';

export interface TasksRoutesOptions {
  submitter: TaskSubmitter;
  reader: TaskReader;
}

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema, 503: ErrorBodySchema };

export const tasksRoutes: FastifyPluginAsyncZod<TasksRoutesOptions> = async (app, { submitter, reader }) => {
  app.post(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a task to a role',
        body: SubmitTaskBodySchema,
        response: { 202: TaskAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const accepted = await submitter.submitOne(request.body, request.apiKeyId!);
      void reply.status(202).header('location', `/v1/tasks/${accepted.id}`);
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
        response: { 202: BatchAcceptedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tasks = await submitter.submitBatch(request.body.tasks, request.apiKeyId!);
      void reply.status(202);
      return { tasks };
    },
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
    },
    async (request) => reader.read(request.params.id),
  );
};
