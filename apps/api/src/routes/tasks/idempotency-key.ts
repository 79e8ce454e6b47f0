import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { ApiError } from '../../errors/api-error';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set (to "true") on a 202 that repeats the answer to an earlier request with the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** 1–255 visible ASCII characters: what fits a header unambiguously (no spaces, no commas from joined duplicates). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's Idempotency-Key, or undefined when it sent none (then idempotency costs nothing).
 * A malformed key is a 400: silently ignoring it would enqueue the task again on every retry.
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && KEY_PATTERN.test(value)) return value;
  throw new ApiError('VALIDATION_FAILED', 'the Idempotency-Key header must be 1 to 255 visible ASCII characters', [
    { field: `headers.${IDEMPOTENCY_KEY_HEADER}`, message: 'expected 1 to 255 visible ASCII characters (no spaces)' },
  ]);
}

/** The Idempotency-Key header as the OpenAPI document shows it (see documentedRoute). */
export const IdempotencyKeyHeadersSchema = z.object({
  [IDEMPOTENCY_KEY_HEADER]: z
    .string()
    .regex(KEY_PATTERN)
    .optional()
    .describe(
      'Makes the request safe to retry: the same key from the same API key within IDEMPOTENCY_TTL answers the original ' +
        'task ids (with "idempotent-replayed: true") and never enqueues again; reusing it for a different body is a 422.',
    ),
});
