import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { mergeApiKeys, readApiKeysFile, type ApiKey } from '@taskyard/config';
import { METRIC, type Logger } from '@taskyard/observability';
import type { ApiKeyRing } from './api-key-ring';
import type { AuditLog } from './audit-log';

/** How often the file's mtime and size are checked (a stat; editors that replace the file are seen too). */
export const API_KEYS_FILE_POLL_MS = 500;

/**
 * Re-reads API_KEYS_FILE when it changes, so keys are added, revoked and re-scoped without a
 * restart. A file that does not parse keeps the keys in force and logs every problem; a good one
 * replaces them whole (API_KEYS' keys stay) and is an audited admin action. Whether the file as it
 * is now is the one in force is a gauge (taskyard_api_keys_file_ok): a deleted or broken file
 * keeps the old keys working, which an operator revoking keys must be able to see.
 */
export class ApiKeysWatcher {
  private readonly listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) this.reload();
  };

  private readonly inForce: Gauge;

  constructor(
    private readonly path: string,
    private readonly envKeys: readonly ApiKey[],
    private readonly ring: ApiKeyRing,
    private readonly logger: Logger,
    private readonly audit: AuditLog,
    registry: Registry,
  ) {
    this.inForce = new Gauge({ name: METRIC.apiKeysFileOk, help: 'Whether API_KEYS_FILE as it is now is the one in force (0: unreadable or invalid, the previous keys are kept)', registers: [registry] });
    // Read and checked at start (loadConfig) or the process would not be running.
    this.inForce.set(1);
  }

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
      this.inForce.set(0);
      this.logger.error({ file: this.path, problems }, 'API_KEYS_FILE has problems: the keys in force are kept');
      return false;
    }
    this.ring.replace(merged.keys);
    this.inForce.set(1);
    this.audit.action('api-keys.reload', { file: this.path, keys: read.keys.length });
    return true;
  }
}
