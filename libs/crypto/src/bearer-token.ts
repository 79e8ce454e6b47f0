import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether an Authorization header carries `Bearer <token>`: compared as SHA-256 digests in
 * constant time, so neither the token's length nor its content leaks through timing.
 */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || header.slice(0, 7).toLowerCase() !== 'bearer ') return false;
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}
