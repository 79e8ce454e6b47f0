import { timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '@taskyard/config';
import { sha256 } from '@taskyard/crypto';
import type { Principal } from '@taskyard/contracts';

/** Why a presented credential was refused (the `reason` of taskyard_auth_refusals_total; never told the client). */
export type AuthRefusal = 'missing' | 'malformed' | 'unknown' | 'expired';

export type Identified = { principal: Principal } | { refusal: AuthRefusal };

interface Entry {
  key: ApiKey;
  digest: Buffer;
  principal: Principal;
}

/**
 * The API keys a process accepts, looked up by the SHA-256 of the presented secret: checking a
 * key costs one hash and a map lookup, the stored digest is then compared in constant time, and
 * what timing could reveal concerns a hash, never a secret. `replace` swaps the whole set at once
 * (API_KEYS_FILE was edited): a request sees the old set or the new one, never a mix.
 */
export class ApiKeyRing {
  private byDigest: ReadonlyMap<string, Entry> = new Map();

  constructor(
    keys: readonly ApiKey[],
    private readonly now: () => number = Date.now,
  ) {
    this.replace(keys);
  }

  get size(): number {
    return this.byDigest.size;
  }

  replace(keys: readonly ApiKey[]): void {
    this.byDigest = new Map(
      keys.map((key): [string, Entry] => [
        key.secretSha256,
        { key, digest: Buffer.from(key.secretSha256, 'hex'), principal: Object.freeze({ keyId: key.id, scopes: new Set(key.scopes), tenant: key.tenant }) },
      ]),
    );
  }

  /** The principal of `secret`, or why it is refused; `keyId`, when given (Basic), must name the same key. */
  identify(secret: string, keyId?: string): Identified {
    const presented = sha256(secret);
    const entry = this.byDigest.get(presented.toString('hex'));
    if (!entry || !timingSafeEqual(entry.digest, presented) || (keyId !== undefined && keyId !== entry.key.id)) return { refusal: 'unknown' };
    if (entry.key.expiresAt !== undefined && this.now() >= entry.key.expiresAt) return { refusal: 'expired' };
    return { principal: entry.principal };
  }

  /** The principal of an `Authorization` header (`Bearer <secret>`, or `Basic` when allowed), or why not. */
  fromHeader(header: string | undefined, allowBasic: boolean): Identified {
    if (!header) return { refusal: 'missing' };
    const space = header.indexOf(' ');
    const scheme = space === -1 ? '' : header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' && value !== '') return this.identify(value);
    if (scheme === 'basic' && allowBasic) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) return { refusal: 'malformed' };
      return this.identify(decoded.slice(colon + 1), decoded.slice(0, colon));
    }
    return { refusal: 'malformed' };
  }
}
