import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DispatchError } from '@taskyard/contracts';
import { isRedisFullError, isRedisUnavailableError } from '@taskyard/store';
import { ApiError, fromDispatchError, redisFull, redisUnavailable } from './api-error';
import { RedisFullEpisode } from './redis-full-episode';

/** Fastify's own error codes, mapped onto ours. */
const FASTIFY_CODES: Record<string, () => ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError('PAYLOAD_TOO_LARGE', 'the request body is larger than the limit'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new ApiError('INVALID_JSON', 'the Content-Length does not match the body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new ApiError('INVALID_JSON', 'the body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new ApiError('INVALID_JSON', 'the body is not valid JSON'),
  // Raised by the router before any route runs (see frameworkErrorHandler).
  FST_ERR_BAD_URL: () => new ApiError('VALIDATION_FAILED', 'the URL is not validly percent-encoded'),
  FST_ERR_MAX_PARAM_LENGTH: () => new ApiError('NOT_FOUND', 'no such resource: a path parameter is longer than any id'),
};

/** The one place errors become responses. Internals never leak: a 500 says only "internal error". */
export function installErrorHandler(app: FastifyInstance): void {
  const redisFullEpisode = new RedisFullEpisode();
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    // Every authorization refusal is audited (authentication failures are, where they happen).
    if (apiError.statusCode === 403) request.server.audit?.refused(request, refusalReasonOf(apiError), { message: apiError.message });
    if (apiError.code === 'REDIS_FULL') {
      redisFullEpisode.refused(request.log, error.cause ?? error);
    } else if (apiError.statusCode >= 500 && apiError.code !== 'REDIS_UNAVAILABLE') {
      request.log.error({ err: error }, 'request failed');
    } else if (apiError.code === 'REDIS_UNAVAILABLE') {
      request.log.warn({ err: error.cause ?? error }, 'redis unavailable');
    }
    sendApiError(reply, apiError);
  });
  // A task accepted again ends a "Redis is full" episode (see RedisFullEpisode).
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 202) redisFullEpisode.accepted(request.log);
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
}

/**
 * Fastify's `frameworkErrors` option: errors the router raises before routing (a bad
 * percent-encoding, a path parameter over maxParamLength) bypass setErrorHandler and would
 * otherwise answer in Fastify's own body format.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  sendApiError(reply, toApiError(error));
}

/** A 403's reason for the audit trail: a missing scope, a tenant the key may not name, or a role's acceptFrom. */
function refusalReasonOf(apiError: ApiError): 'scope' | 'tenant' | 'access' {
  const details = apiError.details as { scope?: unknown; field?: unknown } | undefined;
  if (details?.scope !== undefined) return 'scope';
  return typeof details?.field === 'string' && details.field.endsWith('metadata.tenant') ? 'tenant' : 'access';
}

function sendApiError(reply: FastifyReply, apiError: ApiError): void {
  void reply
    .status(apiError.statusCode)
    .headers(apiError.headers)
    .send({ error: { code: apiError.code, message: apiError.message, ...(apiError.details === undefined ? {} : { details: apiError.details }) } });
}

function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DispatchError) return fromDispatchError(error);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const details = error.validation.map((issue) => ({
      field: [error.validationContext, ...issue.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.'),
      message: issue.message ?? 'invalid',
    }));
    return new ApiError('VALIDATION_FAILED', 'the request does not match the schema', details);
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return mapped();
  // secure-json-parse's prototype-poisoning refusals and JSON.parse's SyntaxError.
  if (error instanceof SyntaxError || /prototype property|JSON/i.test(error.message) && error.statusCode === 400) {
    return new ApiError('INVALID_JSON', `the body is not acceptable JSON: ${error.message}`);
  }
  if (isRedisFullError(error)) return redisFull(error);
  if (isRedisUnavailableError(error)) return redisUnavailable(error);
  if (error.statusCode === 405) return new ApiError('METHOD_NOT_ALLOWED', error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('VALIDATION_FAILED', error.message);
  }
  return new ApiError('INTERNAL', 'internal error');
}
