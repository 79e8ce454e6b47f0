import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { TaskyardKeys } from '@taskyard/store';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { deletePrefix, TEST_API_KEY, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const ROOT = resolve(__dirname, '../..');
const env = testEnv();
let launcher: ChildProcess | undefined;
/** What `npm start` started, for a test that fails half-way: its children (each in a group of its own) and its private Redis. */
const leftovers = { pids: new Set<number>(), redisPorts: new Set<number>() };

afterAll(async () => {
  if (launcher?.pid && launcher.exitCode === null) process.kill(-launcher.pid, 'SIGKILL');
  for (const pid of leftovers.pids) {
    try {
      // Only if that pid is still one of ours (not reused by another process since).
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${ROOT}/apps/`)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
  for (const port of leftovers.redisPorts) {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    await redis.connect().then(
      () => redis.shutdown('NOSAVE').catch(() => undefined),
      () => undefined,
    );
    redis.disconnect();
  }
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

/** Every child pid npm start's output names (the API and the workers log theirs). */
function childPids(output: readonly string[]): number[] {
  const found = new Set(output.filter((line) => /^\[(?:api|worker-\d)\] \{/.test(line)).map((line) => (JSON.parse(line.slice(line.indexOf('{'))) as { pid: number }).pid));
  for (const pid of found) leftovers.pids.add(pid);
  return [...found];
}

describe('npm start', () => {
  it('drains on Ctrl-C: a task running when the terminal sends SIGINT to every process still completes, and all exit 0', async () => {
    const port = await freePort();
    const output: string[] = [];
    // `npm start` is `tsx scripts/start.ts`; a group of its own plays the terminal's foreground group.
    launcher = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, PORT: String(port), WORKER_REPLICAS: '2', LOG_PRETTY: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [launcher.stdout!, launcher.stderr!]) createInterface({ input: stream }).on('line', (line) => output.push(line));
    const exited = new Promise<number | null>((done) => launcher!.once('exit', (code) => done(code)));
    await waitFor('npm start to be ready', async () => output.includes('Taskyard is running.'), { timeoutMs: 60_000 });
    childPids(output);

    const headers = { authorization: `Bearer ${TEST_API_KEY.secret}`, 'content-type': 'application/json' };
    const submitted = await fetch(`http://127.0.0.1:${port}/v1/tasks`, { method: 'POST', headers, body: JSON.stringify({ role: 'echo', payload: { message: 'drain me', sleepMs: 1500 } }) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    await waitFor('the task to be active', async () => {
      const task = (await (await fetch(`http://127.0.0.1:${port}/v1/tasks/${id}`, { headers })).json()) as { state: string };
      return task.state === 'active';
    });

    process.kill(-launcher.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('taskyard: stopped');
    // No process took the launcher's SIGTERM as a second signal (which exits without draining).
    expect(output.filter((line) => /second SIG/.test(line))).toEqual([]);

    const redis = new Redis(env['REDIS_URL']!);
    try {
      const job = await redis.hgetall(new TaskyardKeys(env['QUEUE_PREFIX']!).job(id));
      expect(job['finishedOn']).toBeDefined();
      expect(JSON.parse(job['returnvalue'] ?? 'null')).toMatchObject({ echo: { message: 'drain me' } });
    } finally {
      redis.disconnect();
    }
  });

  it('stops everything when its terminal closes: SIGHUP to the group ends the API, every worker and the private Redis', async () => {
    const port = await freePort();
    const redisPort = await freePort();
    const output: string[] = [];
    // No Redis answers at REDIS_URL: npm start runs a private redis-server there. This is `npm
    // start` itself, as a person runs it: npm, then tsx, then the launcher, in one process group.
    leftovers.redisPorts.add(redisPort);
    launcher = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, PORT: String(port), WORKER_REPLICAS: '2', LOG_PRETTY: 'false', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [launcher.stdout!, launcher.stderr!]) createInterface({ input: stream }).on('line', (line) => output.push(line));
    const exited = new Promise<number | null>((done) => launcher!.once('exit', (code) => done(code)));
    await waitFor('npm start to be ready', async () => output.includes('Taskyard is running.'), { timeoutMs: 60_000 });
    expect(output).toContain(`taskyard: no Redis answered at redis://127.0.0.1:${redisPort}, so I started a private redis-server there (data in ${resolve(ROOT, `.taskyard/redis-${redisPort}`)}, AOF on)`);
    // The processes it started: the API and the workers log their pids, the Redis answers on its port.
    const pids = await waitFor('every child to log its pid', () => {
      const found = childPids(output);
      return found.length === 3 ? found : undefined;
    });
    const redis = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();

    // A closed terminal: SIGHUP to every process of the group. npm and tsx end at once; the launcher
    // (whose output still reaches this test through the pipe npm handed it) stops everything first.
    process.kill(-launcher.pid!, 'SIGHUP');
    await exited;
    await waitFor('the launcher to have stopped everything', async () => output.includes('taskyard: stopped'), { timeoutMs: 60_000 });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
    // Nothing listens on the private Redis' port any more.
    const refused = await new Promise<string>((done) => {
      const socket = connect(redisPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? String(err)));
    });
    expect(refused).toBe('ECONNREFUSED');
    rmSync(resolve(ROOT, `.taskyard/redis-${redisPort}`), { recursive: true, force: true });
  });
});
