import { createHash } from 'node:crypto';

/** The SHA-256 of a UTF-8 string: how API key secrets and bearer tokens are compared and stored. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
