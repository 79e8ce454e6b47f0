import type { FastifyContextConfig } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SubmitMetadataSchema, TaskOptionsSchema } from '@taskyard/contracts';
import type { RoleRegistry } from '@taskyard/roles';
import { IdempotencyKeyHeadersSchema } from './idempotency-key';

/**
 * Route config that changes what the OpenAPI document shows of a route, not what it validates:
 * the document is generated once, while a schema on the route would be checked on every request
 * (a cost the submit path does not pay: idempotencyKeyOf checks the one header; the dispatcher
 * checks the payload against its role, with its own error codes).
 */
export function documentedRoute({ body, idempotencyKey = false }: { body?: z.ZodType; idempotencyKey?: boolean }): FastifyContextConfig {
  return {
    swaggerTransform: (input) =>
      jsonSchemaTransform({
        ...input,
        schema: { ...input.schema, ...(body ? { body } : {}), ...(idempotencyKey ? { headers: IdempotencyKeyHeadersSchema } : {}) },
      }),
  };
}

/**
 * The submit body as the OpenAPI document shows it: a union discriminated on `role`, with each
 * role's own payload schema, so a generated client knows what `echo` takes.
 */
export function submitTaskBodyFor(registry: RoleRegistry): z.ZodType {
  const variants = registry.all().map((role) =>
    z
      .object({
        role: z.literal(role.name).describe(role.description),
        payload: role.input,
        options: TaskOptionsSchema.optional(),
        metadata: SubmitMetadataSchema.optional(),
      })
      .strict(),
  );
  if (variants.length === 1) return variants[0]!;
  return z.discriminatedUnion('role', variants as [(typeof variants)[number], ...(typeof variants)[number][]]);
}
