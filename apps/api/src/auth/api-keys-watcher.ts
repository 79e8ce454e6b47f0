import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { mergeApiKeys, readApiKeysFile, type ApiKey } from '@taskyard/config';
import type { Logger } from '@taskyard/observability';
import type { ApiKeyRing } from './api-key-ring';
import type { AuditLog } from './audit-log';

/** How often the file's mtime and size are checked (a stat; editors that replace the file are seen too). */
export const API_KEYS_FILE_POLL_MS = 500;

/**
 * Re-reads API_KEYS_FILE when it changes, so keys are added, revoked and re-scoped without a
 * restart. A file that does not parse keeps the keys in force and logs every problem; a good one
 * replaces them whole (API_KEYS' keys stay) and is an audited admin action.
 */
export class ApiKeysWatcher {
  private readonly listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) this.reload();
  };

  constructor(
    private readonly path: string,
    private readonly envKeys: readonly ApiKey[],
    private readonly ring: ApiKeyRing,
    private readonly logger: Logger,
    private readonly audit: AuditLog,
  ) {}

  start(): void {
    watchFile(this.path, { interval: API_KEYS_FILE_POLL_MS, persistent: false }, this.listener);
  }

  stop(): void {
    unwatchFile(this.path, this.listener);
  }

  /** Reads the file now; returns whether its keys are in force. */
  reload(): boolean {
    const read = readApiKeysFile(this.path);
    const merged = read.problems.length === 0 ? mergeApiKeys(this.envKeys, read.keys) : { keys: [], problems: [] };
    const problems = [...read.problems, ...merged.problems];
    if (problems.length > 0) {
      this.logger.error({ file: this.path, problems }, 'API_KEYS_FILE has problems: the keys in force are kept');
      return false;
    }
    this.ring.replace(merged.keys);
    this.audit.action('api-keys.reload', { file: this.path, keys: read.keys.length });
    return true;
  }
}
