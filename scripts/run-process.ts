/**
 * `npm run api` / `npm run worker`: builds if needed, then runs one API or worker process in the
 * foreground. Several `npm run worker` processes are replicas of one another.
 */
import { spawn } from 'node:child_process';
import { API_MAIN, buildApps, ROOT, WORKER_MAIN } from './lib/build';

const kind = process.argv[2];
if (kind !== 'api' && kind !== 'worker') {
  process.stderr.write('usage: tsx scripts/run-process.ts api|worker\n');
  process.exit(2);
}
buildApps();
const child = spawn(process.execPath, [kind === 'api' ? API_MAIN : WORKER_MAIN], { cwd: ROOT, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
