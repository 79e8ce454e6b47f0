import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ErrorBodySchema,
  ScheduleListQuerySchema,
  ScheduleListSchema,
  ScheduleParamsSchema,
  ScheduleTenantQuerySchema,
  ScheduleViewSchema,
  UpsertScheduleBodySchema,
} from '@taskyard/contracts';
import { z } from 'zod';
import type { Schedules } from './schedules';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema };

export const schedulesRoutes: FastifyPluginAsyncZod<{ schedules: Schedules }> = async (app, { schedules }) => {
  app.post(
    '/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: "Create or replace a schedule (BullMQ job scheduler): every run is an ordinary signed task of the role, from source schedule:<id>",
        body: UpsertScheduleBodySchema,
        response: { 200: ScheduleViewSchema, 201: ScheduleViewSchema, ...errors, 409: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema },
      },
      // Also the submit scope for the role, checked with the run.
      config: { scope: 'schedules:manage' },
    },
    async (request, reply) => {
      const { created, view } = await schedules.upsert(request.body, request.principal!);
      void reply.status(created ? 201 : 200).header('location', `/v1/schedules/${view.id}`);
      return view;
    },
  );

  app.get(
    '/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: "Schedules, by id: a tenant key's own, an operator key's every tenant's",
        querystring: ScheduleListQuerySchema,
        response: { 200: ScheduleListSchema, ...errors },
      },
      config: { scope: 'schedules:manage' },
    },
    async (request) => schedules.list(request.query.limit, request.query.cursor, request.principal!),
  );

  app.get(
    '/schedules/:id',
    {
      schema: {
        tags: ['schedules'],
        summary: 'A schedule: its definition, its next run and its last runs (their task ids)',
        params: ScheduleParamsSchema,
        querystring: ScheduleTenantQuerySchema,
        response: { 200: ScheduleViewSchema, ...errors },
      },
      config: { scope: 'schedules:manage' },
    },
    async (request) => schedules.get(request.params.id, request.query.tenant, request.principal!),
  );

  app.delete(
    '/schedules/:id',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Remove a schedule: no run after this (a run already made stays an ordinary task)',
        params: ScheduleParamsSchema,
        querystring: ScheduleTenantQuerySchema,
        response: { 204: z.null().describe('removed'), ...errors },
      },
      config: { scope: 'schedules:manage' },
    },
    async (request, reply) => {
      await schedules.remove(request.params.id, request.query.tenant, request.principal!);
      return reply.status(204).send(null);
    },
  );
};
