import { DISPATCH_FAILURES, QUEUE_FULL_RETRY_AFTER_SECONDS, type DispatchError, type DispatchFailure } from '@taskyard/contracts';

/**
 * The API's error registry: each code has one status. Routes and hooks throw ApiError; the one
 * error handler turns it into `{ error: { code, message, details? } }`.
 */
export const API_ERRORS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  /** POST /v1/broadcasts of a type that is not built in and that no role handles. */
  UNKNOWN_BROADCAST_TYPE: 400,
  UNAUTHORIZED: 401,
  /** The API key may not send tasks to that role (the role's acceptFrom). */
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_ROLE: 404,
  UNKNOWN_TOPIC: 404,
  METHOD_NOT_ALLOWED: 405,
  TASK_FINISHED: 409,
  /** A new schedule past SCHEDULES_MAX_PER_TENANT. */
  SCHEDULE_LIMIT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  /** A dead letter whose message fails verification (altered in Redis) or no longer fits its role: never replayed. */
  DEAD_LETTER_INVALID: 422,
  QUEUE_FULL: 429,
  RATE_LIMITED: 429,
  /** More open event streams (SSE) than SSE_MAX_STREAMS_PER_KEY for one key on one API process. */
  TOO_MANY_STREAMS: 429,
  INTERNAL: 500,
  REDIS_UNAVAILABLE: 503,
  REDIS_FULL: 503,
  OVERLOADED: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

// Every dispatch failure has an API code here (a compile error otherwise).
const _dispatchCodes: Readonly<Record<(typeof DISPATCH_FAILURES)[DispatchFailure]['apiCode'], number>> = API_ERRORS;

export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = API_ERRORS[code];
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The API's answer to a message the dispatcher refused: its code and status from the dispatch table, its details as they are. */
export function fromDispatchError(error: DispatchError): ApiError {
  const headers: Record<string, string> = error.code === 'QUEUE_FULL' ? { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_SECONDS) } : {};
  const apiError = new ApiError(DISPATCH_FAILURES[error.code].apiCode, error.message, error.details, headers);
  apiError.cause = error;
  return apiError;
}

/** Seconds a client should wait before retrying after a 503 for Redis. */
export const REDIS_RETRY_AFTER_SECONDS = 1;

export function redisUnavailable(cause?: unknown): ApiError {
  const error = new ApiError('REDIS_UNAVAILABLE', 'the task store (Redis) is unavailable; retry shortly', undefined, {
    'retry-after': String(REDIS_RETRY_AFTER_SECONDS),
  });
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * Redis reached maxmemory under noeviction and refuses writes: nothing was stored, the caller
 * may retry once memory frees (workers draining queues, retention trimming, an operator).
 */
export function redisFull(cause?: unknown): ApiError {
  const error = new ApiError('REDIS_FULL', 'the task store (Redis) is full and refuses new tasks; retry later', undefined, {
    'retry-after': String(REDIS_RETRY_AFTER_SECONDS),
  });
  if (cause !== undefined) error.cause = cause;
  return error;
}
