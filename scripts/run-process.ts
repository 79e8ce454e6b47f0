/**
 * `npm run api` / `npm run worker`: builds if needed, then runs one API or worker process in the
 * foreground. Several `npm run worker` processes are replicas of one another.
 *
 * The app runs in a process group of its own and this launcher hands it each signal once. A
 * terminal sends Ctrl-C (SIGINT) to its whole foreground group, and npm and tsx relay it on top:
 * an app in that group got the same keypress two or three times, and close-with-grace took the
 * second as "exit now", cutting its drain short (the running task stayed active until its lock
 * expired). Closing the terminal (SIGHUP) drains it too. A signal that comes again after
 * REPEAT_WINDOW_MS is a second keypress, and reaches the app as one: then it exits at once.
 */
import { spawn } from 'node:child_process';
import { API_MAIN, buildApps, ROOT, WORKER_MAIN } from './lib/build';

/** Copies of one signal arriving within this window are the same event, relayed. */
const REPEAT_WINDOW_MS = 1000;

const kind = process.argv[2];
if (kind !== 'api' && kind !== 'worker') {
  process.stderr.write('usage: tsx scripts/run-process.ts api|worker\n');
  process.exit(2);
}
buildApps();
// The terminal may be gone (SIGHUP): writing to it must not kill the launcher while the app drains.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
// The app gets no terminal of its own: a Node process whose stdio was a terminal that has since
// closed fails an assertion as it exits (restoring the terminal's mode) and spins instead of
// exiting. Its output goes through this launcher, which keeps reading it whatever the terminal.
const child = spawn(process.execPath, [kind === 'api' ? API_MAIN : WORKER_MAIN], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(chunk));
child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
let lastForwardedAt = -Infinity;
const forward = (signal: NodeJS.Signals) => {
  const now = Date.now();
  if (now - lastForwardedAt < REPEAT_WINDOW_MS) return;
  lastForwardedAt = now;
  // A closed terminal is a request to stop, like Ctrl-C.
  child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => forward(signal));
// Outside the terminal's group the app would outlive a launcher that exits some other way.
process.on('exit', () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
