import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const API_MAIN = resolve(ROOT, 'apps/api/dist/main.js');
export const WORKER_MAIN = resolve(ROOT, 'apps/workers/dist/main.js');

/** Compiles the apps (incremental: a no-op when nothing changed). Exits the process on failure. */
export function buildApps(): void {
  const tsc = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b', 'apps/api', 'apps/workers'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('taskyard: the build failed (see above)\n');
    process.exit(result.status ?? 1);
  }
}
