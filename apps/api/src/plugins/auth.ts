import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error';
import type { ApiKeyVerifier } from './api-key-verifier';

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key that authenticated this request. */
    apiKeyId: string | undefined;
  }
  interface FastifyInstance {
    /** onRequest hook: Bearer key required. */
    requireApiKey: (request: FastifyRequest) => Promise<void>;
    /** onRequest hook for browser pages: Basic (user = key id, password = secret) or Bearer, with a challenge. */
    requireBrowserAuth: (request: FastifyRequest) => Promise<void>;
  }
}

export const AUTH_REALM = 'Taskyard';

/** Decorates the instance with the two authentication hooks; scopes opt in with addHook. */
export const authPlugin = fp<{ verifier: ApiKeyVerifier }>(
  async (app: FastifyInstance, { verifier }) => {
    app.decorateRequest('apiKeyId', undefined);
    app.decorate('requireApiKey', async (request: FastifyRequest) => {
      const keyId = verifier.fromHeader(request.headers.authorization, false);
      if (!keyId) throw new ApiError('UNAUTHORIZED', 'send a valid API key as "Authorization: Bearer <secret>"');
      request.apiKeyId = keyId;
    });
    app.decorate('requireBrowserAuth', async (request: FastifyRequest) => {
      const keyId = verifier.fromHeader(request.headers.authorization, true);
      if (!keyId) {
        throw new ApiError('UNAUTHORIZED', 'sign in with your API key id as user name and its secret as password', undefined, {
          'www-authenticate': `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
        });
      }
      request.apiKeyId = keyId;
    });
  },
  { name: 'taskyard-auth' },
);
