import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { API_MAIN, ROOT, WORKER_MAIN } from '../../lib/build';

/**
 * Compiles the apps (incremental, so a no-op when nothing changed). If the build fails but a
 * previous one exists, the bench goes on with it and says so; without one it cannot run.
 */
export function ensureBuilt(log: (line: string) => void): void {
  const tsc = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-b', 'apps/api', 'apps/workers'], { cwd: ROOT, encoding: 'utf8' });
  const built = existsSync(API_MAIN) && existsSync(WORKER_MAIN);
  if (build.status === 0) return;
  if (!built) throw new Error(`the build failed and there is no previous one:\n${build.stdout}${build.stderr}`);
  log(`warning: the build failed; benchmarking the previous build in apps/*/dist\n${build.stdout}${build.stderr}`);
}
