import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** OpenAPI 3 generated from the routes' zod schemas; Swagger UI at /docs, the document at /docs/json. */
export const openApiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Taskyard API',
          description: 'Submit tasks to agent roles and follow them through their queues.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key secret from API_KEYS' } },
        },
        security: [{ apiKey: [] }],
      },
      transform: jsonSchemaTransform,
      // Adds the named schemas (zod's registry: the recursive workflow node) to components.schemas.
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'taskyard-openapi' },
);
