import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SIGNATURE_ALGORITHM, TaskyardError, type MessageSignature } from '@taskyard/contracts';
import { canonicalJson } from './canonical-json';
import type { NamedSecret } from './key-ring';

/**
 * Signs with the first key and verifies with any of them, so keys can be rotated by
 * prepending a new one and dropping the old one once no message signed with it is queued.
 */
export class MessageSigner {
  // KeyObjects: the secret is imported once, not on every createHmac.
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly current: { kid: string; key: KeyObject };

  constructor(keys: readonly NamedSecret[]) {
    const first = keys[0];
    if (!first) throw new TaskyardError('NO_SIGNING_KEYS', 'MessageSigner needs at least one signing key');
    this.keys = new Map(keys.map((key) => [key.id, createSecretKey(Buffer.from(key.secret, 'utf8'))]));
    this.current = { kid: first.id, key: this.keys.get(first.id)! };
  }

  /** Signs the canonical form of `content` (every member of the message but the signature). */
  sign(content: unknown): MessageSignature {
    return {
      kid: this.current.kid,
      alg: SIGNATURE_ALGORITHM,
      value: hmac(this.current.key, canonicalJson(content)),
    };
  }

  /**
   * True when `signature` was made by one of our keys over exactly `content`. The value must be
   * exactly 64 lower-case hex digits before it is compared: Buffer.from(…, 'hex') would take
   * upper case and drop trailing garbage, so one signature would have many spellings.
   */
  verify(content: unknown, signature: Readonly<MessageSignature>): boolean {
    const key = this.keys.get(signature.kid);
    if (!key || signature.alg !== SIGNATURE_ALGORITHM || typeof signature.value !== 'string' || !SIGNATURE_VALUE.test(signature.value)) return false;
    const expected = createHmac('sha256', key).update(canonicalJson(content), 'utf8').digest();
    const given = Buffer.from(signature.value, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

const SIGNATURE_VALUE = /^[0-9a-f]{64}$/;

function hmac(key: KeyObject, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}
