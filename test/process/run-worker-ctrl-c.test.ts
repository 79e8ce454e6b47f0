import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { waitForState } from './helpers';

const ROOT = resolve(__dirname, '../..');
const env = testEnv();
const api = new ApiServer(env);
let launcher: ChildProcess | undefined;

afterAll(async () => {
  if (launcher?.pid && launcher.exitCode === null) process.kill(-launcher.pid, 'SIGKILL');
  await api.stop();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

/** Starts `command` in a process group of its own (a terminal's foreground group), collecting its output. */
async function startInGroup(command: string, args: string[]) {
  const output: string[] = [];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, ROLES: 'echo', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  launcher = child;
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => output.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  await waitFor('the worker to start', async () => output.some((line) => line.includes('"msg":"workers started"')), { timeoutMs: 60_000 });
  return { child, output, exited };
}

/** Runs a task that takes a while, Ctrl-C's the group while it is active, and checks the drain. */
async function ctrlCWhileRunning({ child, output }: Awaited<ReturnType<typeof startInGroup>>): Promise<void> {
  const id = await api.submit('echo', { message: 'drain me', sleepMs: 1500 });
  await waitForState(api, id, 'active');
  process.kill(-child.pid!, 'SIGINT');
  expect(await waitForState(api, id, 'completed')).toMatchObject({ attempts: 1, result: { echo: { message: 'drain me' } } });
  await waitFor('the worker to stop', async () => output.some((line) => line.includes('"msg":"worker stopped"')));
  // The keypress reached the worker once: no "second SIGINT, exiting" that would cut its drain short.
  expect(output.filter((line) => /second SIG/.test(line))).toEqual([]);
}

describe('npm run worker in a terminal', () => {
  it('drains on Ctrl-C: SIGINT to the whole process group (as a terminal sends it) lets the running task complete', async () => {
    await api.start();
    const started = await startInGroup('npm', ['run', '--silent', 'worker']);
    await ctrlCWhileRunning(started);
    // npm ends on Ctrl-C as it always does: by the SIGINT it was sent.
    expect(await started.exited).toEqual({ code: null, signal: 'SIGINT' });
  });

  it('exits 0 after the drain: the launcher npm runs (tsx scripts/run-process.ts worker), signalled the same way', async () => {
    const started = await startInGroup(process.execPath, ['--import', 'tsx', 'scripts/run-process.ts', 'worker']);
    await ctrlCWhileRunning(started);
    expect(await started.exited).toEqual({ code: 0, signal: null });
  });

  it('drains when the terminal closes (SIGHUP to the group) as on Ctrl-C', async () => {
    const started = await startInGroup(process.execPath, ['--import', 'tsx', 'scripts/run-process.ts', 'worker']);
    const id = await api.submit('echo', { message: 'hung up', sleepMs: 1500 });
    await waitForState(api, id, 'active');
    process.kill(-started.child.pid!, 'SIGHUP');
    expect(await waitForState(api, id, 'completed')).toMatchObject({ attempts: 1 });
    expect(await started.exited).toEqual({ code: 0, signal: null });
  });
});
