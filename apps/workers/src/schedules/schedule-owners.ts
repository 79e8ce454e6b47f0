import { statSync } from 'node:fs';
import { hasScope, maySubmitTo, type Principal, type ScheduleRecord } from '@taskyard/contracts';
import { mergeApiKeys, readApiKeysFile, type ApiKey, type TaskyardConfig } from '@taskyard/config';
import type { Logger } from '@taskyard/observability';

/** How often the keys file's modification time is looked at (at most), as the API's watcher does. */
const RECHECK_MS = 1000;

/**
 * Whether a schedule's owner may still make its runs: a schedule runs as the key that upserted
 * it, so a key that was revoked, expired, or lost `schedules:manage` or the role's submit scope
 * (or its tenant) makes no more tasks. The worker reads the keys the API reads — API_KEYS and
 * API_KEYS_FILE — and re-reads the file when it changes (a bad edit keeps the keys in force).
 */
export class ScheduleOwners {
  private keys: ReadonlyMap<string, ApiKey>;
  private lookedAt = 0;
  private fileMtimeMs: number | undefined;

  constructor(
    private readonly config: Pick<TaskyardConfig, 'apiKeys' | 'envApiKeys' | 'apiKeysFile'>,
    private readonly log: Logger,
  ) {
    this.keys = byId(config.apiKeys);
    if (config.apiKeysFile) this.fileMtimeMs = mtimeOf(config.apiKeysFile);
  }

  /** Why `record`'s owner may not make its runs now, or undefined when it may. */
  problem(record: ScheduleRecord, now = Date.now()): string | undefined {
    this.refresh(now);
    const key = this.keys.get(record.owner);
    if (!key) return `its owner key "${record.owner}" was revoked`;
    if (key.expiresAt !== undefined && key.expiresAt <= now) return `its owner key "${record.owner}" expired`;
    const principal: Principal = { keyId: key.id, scopes: new Set(key.scopes), tenant: key.tenant };
    if (!hasScope(principal, 'schedules:manage')) return `its owner key "${record.owner}" no longer holds "schedules:manage"`;
    if (!maySubmitTo(principal, record.role)) return `its owner key "${record.owner}" may no longer submit to "${record.role}"`;
    if (key.tenant !== undefined && key.tenant !== record.tenant) return `its owner key "${record.owner}" belongs to another tenant now`;
    return undefined;
  }

  private refresh(now: number): void {
    const file = this.config.apiKeysFile;
    if (!file || now - this.lookedAt < RECHECK_MS) return;
    this.lookedAt = now;
    const mtimeMs = mtimeOf(file);
    if (mtimeMs === this.fileMtimeMs) return;
    this.fileMtimeMs = mtimeMs;
    const read = readApiKeysFile(file);
    const merged = mergeApiKeys(this.config.envApiKeys, read.keys);
    const problems = [...read.problems, ...merged.problems];
    if (problems.length > 0) {
      this.log.warn({ problems }, 'API_KEYS_FILE has problems: the schedules keep the keys read before');
      return;
    }
    this.keys = byId(merged.keys);
  }
}

function byId(keys: readonly ApiKey[]): ReadonlyMap<string, ApiKey> {
  return new Map(keys.map((key) => [key.id, key]));
}

function mtimeOf(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
