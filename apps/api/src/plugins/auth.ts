import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { hasScope, type Principal, type Scope } from '@taskyard/contracts';
import type { ApiKeyRing, Identified } from '../auth/api-key-ring';
import type { AuditLog } from '../auth/audit-log';
import type { AuthFailureLimiter } from '../auth/auth-failure-limiter';
import { ApiError } from '../errors/api-error';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that authenticated this request: its id, scopes and tenant. */
    principal: Principal | undefined;
  }
  interface FastifyInstance {
    /** onRequest hook: a Bearer key required, holding the route's `config.scope` if it names one. */
    requireApiKey: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
    /** onRequest hook for browser pages: Basic (user = key id, password = secret) or Bearer, with a challenge. */
    requireBrowserAuth: (request: FastifyRequest) => Promise<void>;
    audit: AuditLog;
  }
  interface FastifyContextConfig {
    /** The scope a route needs (admin holds every one); routes that check per role (submissions) name none. */
    scope?: Scope;
    /** What a deployment-wide route shows: keys bound to a tenant are refused it (see requireOperator). */
    operatorsOnly?: string;
  }
}

export const AUTH_REALM = 'Taskyard';

/** One body for every failed authentication (missing, malformed, unknown, expired): it tells a guesser nothing. */
export const UNAUTHORIZED_MESSAGE = 'a valid API key is required: send "Authorization: Bearer <secret>"';

export interface AuthPluginOptions {
  ring: ApiKeyRing;
  limiter: AuthFailureLimiter;
  audit: AuditLog;
}

/**
 * Decorates the instance with the authentication hooks; scopes opt in with addHook. A client
 * address past its failed-authentication limit is refused (429) before its key is looked up;
 * each failure and refusal is audited.
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, { ring, limiter, audit }) => {
    app.decorateRequest('principal', undefined);
    app.decorate('audit', audit);

    function authenticate(request: FastifyRequest, allowBasic: boolean, challenge: Record<string, string>): void {
      const wait = limiter.blockedFor(request.ip);
      if (wait > 0) {
        audit.refused(request, 'throttled');
        throw new ApiError('RATE_LIMITED', `too many failed authentications from this address; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
      }
      const identified: Identified = ring.fromHeader(request.headers.authorization, allowBasic);
      if ('principal' in identified) {
        request.principal = identified.principal;
        return;
      }
      // A request without credentials is no guess (a browser before its prompt, a monitor): refused, not counted.
      if (identified.refusal !== 'missing') limiter.failed(request.ip);
      audit.refused(request, identified.refusal);
      throw new ApiError('UNAUTHORIZED', UNAUTHORIZED_MESSAGE, undefined, challenge);
    }

    // One callback hook, not two async ones: it runs on every /v1 request.
    app.decorate('requireApiKey', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      let refusal: Error | undefined;
      try {
        authenticate(request, false, {});
        const { scope, operatorsOnly } = request.routeOptions.config;
        if (operatorsOnly !== undefined) requireOperator(request, operatorsOnly, scope);
        if (scope !== undefined) requireScope(request, scope);
      } catch (err) {
        refusal = err as Error;
      }
      // Outside the try: what runs after the hook must not call done a second time.
      if (refusal) done(refusal);
      else done();
    });
    app.decorate('requireBrowserAuth', async (request: FastifyRequest) =>
      authenticate(request, true, { 'www-authenticate': `Basic realm="${AUTH_REALM}", charset="UTF-8"` }),
    );
  },
  { name: 'taskyard-auth' },
);

/**
 * Throws 403 FORBIDDEN for a key bound to a tenant: `shows` says what the deployment-wide place
 * holds (every tenant's jobs, the worker processes), `scope` the scope it needs besides.
 */
export function requireOperator(request: FastifyRequest, shows: string, scope?: Scope): void {
  if (request.principal?.tenant === undefined) return;
  throw new ApiError('FORBIDDEN', `${shows}: keys bound to a tenant have no access to it`, scope === undefined ? undefined : { scope });
}

/** Throws 403 FORBIDDEN naming `scope` unless the request's key holds it. */
export function requireScope(request: FastifyRequest, scope: Scope): void {
  if (!request.principal || !hasScope(request.principal, scope)) throw missingScope(scope);
}

export function missingScope(scope: Scope): ApiError {
  return new ApiError('FORBIDDEN', `this API key lacks the scope "${scope}"`, { scope });
}
