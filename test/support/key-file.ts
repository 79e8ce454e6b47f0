import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One entry of API_KEYS_FILE, as a test writes it. */
export interface KeyEntry {
  id: string;
  secret?: string;
  secretSha256?: string;
  scopes: string[];
  tenant?: string;
  expiresAt?: string;
}

/** An API_KEYS_FILE in a fresh temp dir; `write` replaces it atomically (as an editor or a deploy tool would). */
export class KeyFile {
  readonly path = join(mkdtempSync(join(tmpdir(), 'taskyard-keys-')), 'api-keys.json');

  constructor(entries: readonly KeyEntry[] | string) {
    this.write(entries);
  }

  write(entries: readonly KeyEntry[] | string): void {
    const next = `${this.path}.next`;
    writeFileSync(next, typeof entries === 'string' ? entries : JSON.stringify(entries, null, 2));
    renameSync(next, this.path);
  }
}

/** A key entry with a secret derived from its id (long enough for the config). */
export function key(id: string, scopes: string[], extra: Partial<KeyEntry> = {}): KeyEntry & { secret: string } {
  return { id, secret: `${id}-secret-0123456789abcdef`, scopes, ...extra };
}

export const bearer = (entry: { secret?: string }) => ({ authorization: `Bearer ${entry.secret}` });
