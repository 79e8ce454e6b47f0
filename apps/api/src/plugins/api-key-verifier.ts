import { createHash } from 'node:crypto';
import type { NamedSecret } from '@taskyard/crypto';

/**
 * Looks API keys up by the SHA-256 of the presented secret, so checking a key costs one hash
 * and a map lookup, and timing reveals nothing about the stored secrets.
 */
export class ApiKeyVerifier {
  private readonly byDigest: ReadonlyMap<string, string>;

  constructor(keys: readonly NamedSecret[]) {
    this.byDigest = new Map(keys.map((key) => [digest(key.secret), key.id]));
  }

  /** The key id owning `secret`, if any. */
  identify(secret: string): string | undefined {
    return this.byDigest.get(digest(secret));
  }

  /** The key id for an `Authorization` header (`Bearer <secret>`, or `Basic` when allowed), if valid. */
  fromHeader(header: string | undefined, allowBasic: boolean): string | undefined {
    if (!header) return undefined;
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer') return this.identify(value);
    if (scheme === 'basic' && allowBasic) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const id = this.identify(decoded.slice(colon + 1));
      return colon > 0 && id === decoded.slice(0, colon) ? id : undefined;
    }
    return undefined;
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
