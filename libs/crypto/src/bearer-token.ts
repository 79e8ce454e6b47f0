import { timingSafeEqual } from 'node:crypto';
import { sha256 } from './digest';

/**
 * Whether an Authorization header carries `Bearer <token>`: compared as SHA-256 digests in
 * constant time, so neither the token's length nor its content leaks through timing.
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || header.slice(0, 7).toLowerCase() !== 'bearer ') return false;
  return timingSafeEqual(sha256(header.slice(7).trim()), sha256(token));
}
