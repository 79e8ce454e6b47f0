import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisClient } from '@taskyard/store';
import { ApiError } from '../errors/api-error';

export interface RateLimitOptions {
  /** Requests per minute per API key (RATE_LIMIT_PER_MINUTE); 0: the plugin adds nothing. */
  perMinute: number;
  /** The API's producer connection: the counters live in Redis, shared by every API replica. */
  redis: RedisClient;
  /** Key prefix of the counters (TaskyardKeys.rateLimitNamespace). */
  namespace: string;
}

const WINDOW_MS = 60_000;

/**
 * Per-API-key rate limit with @fastify/rate-limit (Fastify's own; its Redis store counts in
 * one script call, INCR + PEXPIRE, so replicas share a fixed one-minute window per key).
 * Register it inside the authenticated scope: its hook is added to each route and so runs
 * after the scope's own onRequest hooks, when request.principal is known; requests that fail
 * authentication are answered before they count. Every response carries the IETF draft
 * RateLimit-Limit/-Remaining/-Reset headers; past the limit it is 429 RATE_LIMITED with
 * Retry-After. If Redis cannot count, the request fails like any other that needs Redis
 * (503 with Retry-After) rather than going through unlimited.
 */
export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app: FastifyInstance, { perMinute, redis, namespace }) => {
    if (perMinute === 0) return;
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: WINDOW_MS,
      redis,
      nameSpace: namespace,
      hook: 'onRequest',
      enableDraftSpec: true,
      keyGenerator: (request: FastifyRequest) => request.principal?.keyId ?? `ip:${request.ip}`,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          'RATE_LIMITED',
          `this API key may make ${context.max} requests per minute; retry in ${context.after}`,
          { limit: context.max, windowSeconds: WINDOW_MS / 1000 },
        ),
    });
  },
  { name: 'taskyard-rate-limit', dependencies: ['taskyard-auth'] },
);
