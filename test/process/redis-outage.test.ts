import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectJobLogContext, FAST_RECOVERY, trySubmit, waitAllCompleted, waitForState, type SubmitOutcome } from './helpers';

/**
 * Each test owns a redis-server it can kill (AOF fsync on every write, so whatever Redis
 * acknowledged survives the crash), an API in this process and a worker process; none of
 * them is restarted except Redis.
 */
interface Platform {
  redis: RedisServer;
  api: ApiServer;
  worker: WorkerProcess;
}

const platforms: Platform[] = [];

async function startPlatform(): Promise<Platform> {
  const redis = await new RedisServer({ appendfsync: 'always' }).start();
  // Short locks: a job the worker fetched just as Redis died (the reply lost with the
  // connection) sits in the active list, locked, until its lock expires and a stall check puts
  // it back; with the default 30 s lock that would take up to a minute.
  const env = testEnv({ ...FAST_RECOVERY, REDIS_URL: redis.url, ROLES: 'echo', LOG_LEVEL: 'debug' });
  const platform = { redis, api: new ApiServer(env), worker: new WorkerProcess(env) };
  platforms.push(platform);
  await Promise.all([platform.api.start(), platform.worker.start()]);
  return platform;
}

afterEach(async () => {
  for (const { redis, api, worker } of platforms.splice(0)) {
    await Promise.all([api.stop(), worker.stop()]);
    await redis.destroy();
  }
});

function expectRedisUnavailable(outcome: SubmitOutcome): void {
  expect(outcome).toMatchObject({ status: 503, code: 'REDIS_UNAVAILABLE', retryAfter: expect.stringMatching(/^\d+$/) });
}

describe('Redis killed and restarted under a running API and worker', () => {
  it('answers 503 while Redis is down, then recovers by itself without losing an accepted task', async () => {
    const { redis, api, worker } = await startPlatform();
    const correlations: Record<string, string> = {};
    const submit = async (correlationId: string, sleepMs: number) => {
      const id = await api.submit('echo', { message: correlationId, sleepMs }, { metadata: { correlationId } });
      correlations[id] = correlationId;
      return id;
    };

    // Some tasks finish before the outage, some are still running or queued when Redis dies.
    const before = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(`before-${i}`, i < 10 ? 0 : 1500)));
    await waitFor('a long task to be running', () =>
      worker.logs.some((line) => line.msg === 'task started' && /^before-1\d$/.test(String(line['correlationId']))),
    );

    await redis.kill();

    for (let i = 0; i < 3; i += 1) expectRedisUnavailable(await trySubmit(api, { role: 'echo', payload: { message: 'during' } }));
    const batch = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [{ role: 'echo', payload: {} }] } });
    expect({ status: batch.status, code: batch.body?.error?.code }).toEqual({ status: 503, code: 'REDIS_UNAVAILABLE' });
    expect((await api.request('GET', `/v1/tasks/${before[0]}`)).status).toBe(503);
    expect((await api.request('GET', '/health/ready', { auth: false })).status).toBe(503);
    expect((await api.request('GET', '/health/live', { auth: false })).status).toBe(200);
    await waitFor('the worker to report itself not ready', async () => (await worker.health('/health/ready')) === 503);
    expect(await worker.health('/health/live')).toBe(200);
    // Stay down longer than a job lock lasts, so the running tasks' locks are gone on return.
    await sleep(3000);
    expectRedisUnavailable(await trySubmit(api, { role: 'echo', payload: { message: 'still down' } }));

    await redis.start();

    // The same API and worker, not restarted.
    const refusals: SubmitOutcome[] = [];
    const firstAfter = await waitFor('the API to accept tasks again', async () => {
      const outcome = await trySubmit(api, { role: 'echo', payload: { message: 'after-0' }, metadata: { correlationId: 'after-0' } });
      if (outcome.status !== 202) refusals.push(outcome);
      return outcome.id;
    });
    for (const refusal of refusals) expectRedisUnavailable(refusal);
    correlations[firstAfter] = 'after-0';
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(`after-${i + 1}`, 100)));
    expect((await api.request('GET', '/health/ready', { auth: false })).status).toBe(200);

    await waitAllCompleted(api, [...before, firstAfter, ...after]);
    await waitFor('the worker to report itself ready', async () => (await worker.health('/health/ready')) === 200);
    expectJobLogContext(worker, correlations);
  });

  it('loses no accepted task from a steady stream of submissions across the outage, and never answers 500 or hangs', async () => {
    const { redis, api } = await startPlatform();
    const outcomes: (SubmitOutcome & { phase: string })[] = [];
    const requests: Promise<void>[] = [];
    let phase = 'before';
    let stopped = false;
    const count = (wanted: string, status: number) => outcomes.filter((o) => o.phase === wanted && o.status === status).length;

    // One submission every ~15 ms, never waiting for answers, so requests are in flight when Redis dies.
    const stream = (async () => {
      for (let n = 0; !stopped && n < 1000; n += 1) {
        const started = phase;
        requests.push(
          trySubmit(api, { role: 'echo', payload: { message: `stream-${n}`, sleepMs: 200 } }).then((outcome) => {
            outcomes.push({ ...outcome, phase: started });
          }),
        );
        await sleep(15);
      }
    })();

    await waitFor('tasks to be accepted before the outage', () => count('before', 202) >= 50);
    phase = 'outage';
    await redis.kill();
    await waitFor('submissions to be refused during the outage', () => count('outage', 503) >= 100);
    await redis.start();
    phase = 'after';
    await waitFor('tasks to be accepted after the outage', () => count('after', 202) >= 50);
    stopped = true;
    await stream;
    await Promise.all(requests);

    expect(outcomes.length).toBeGreaterThanOrEqual(120);
    const unexpected = outcomes.filter((o) => o.status !== 202 && !(o.status === 503 && o.code === 'REDIS_UNAVAILABLE' && o.retryAfter));
    expect(unexpected).toEqual([]);
    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
    expect(new Set(accepted).size).toBe(accepted.length);
    await waitAllCompleted(api, accepted, 50_000);
  });
});

describe('Redis stopped, restarted, and its clients killed under an idle and a busy worker', () => {
  const GREETING = resolve(__dirname, '../fixtures/roles/greeting.cjs');
  const extra: { stop: () => Promise<void> }[] = [];

  afterEach(async () => {
    for (const worker of extra.splice(0)) await worker.stop();
  });

  it('answers 503 with Retry-After in under 2 s, takes tasks again without a restart, and both workers resume, also after CLIENT KILL', async () => {
    const redis = await new RedisServer({ appendfsync: 'always' }).start();
    const env = testEnv({ ...FAST_RECOVERY, REDIS_URL: redis.url, ROLE_MODULES: GREETING, LOG_LEVEL: 'debug' });
    const api = new ApiServer(env);
    // Two worker processes: one busy with a long echo task when Redis goes, one (greeting) idle.
    const busy = new WorkerProcess({ ...env, ROLES: 'echo' });
    const idle = new WorkerProcess({ ...env, ROLES: 'greeting' });
    platforms.push({ redis, api, worker: busy });
    extra.push(idle);
    await Promise.all([api.start(), busy.start(), idle.start()]);
    const pids = [busy.pid, idle.pid];

    const long = await api.submit('echo', { message: 'long', sleepMs: 2500 });
    await busy.waitForLog('the long task to be running', (line) => line['taskId'] === long && line.msg === 'task started');

    await redis.stop();

    for (let i = 0; i < 3; i += 1) {
      const startedAt = Date.now();
      const outcome = await trySubmit(api, { role: 'echo', payload: { message: 'while stopped' } }, 5000);
      expect(Date.now() - startedAt, 'a refused submit must answer at once').toBeLessThan(2000);
      expectRedisUnavailable(outcome);
    }
    // Down longer than a job lock lasts, so the busy worker's lock is gone when Redis returns.
    await sleep(3000);

    await redis.start();
    await waitFor('the same API to accept tasks again', async () => (await trySubmit(api, { role: 'echo', payload: {} })).status === 202);
    const greeting = await api.submit('greeting', { name: 'after restart' });
    const echo = await api.submit('echo', { message: 'after restart' });
    await waitAllCompleted(api, [long, echo]);
    expect((await waitForState(api, greeting, 'completed')).result).toEqual({ text: 'hello, after restart' });
    for (const worker of [busy, idle]) {
      await worker.waitForLog('the worker to see Redis back', (line) => line.msg === 'redis connection restored');
    }

    // Every client connection cut at once (a failover, a proxy restart, an operator's CLIENT KILL).
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const clients = await admin.client('LIST');
      expect(clients).toContain('name=taskyard-worker:');
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      expect(killed).toBeGreaterThanOrEqual(3);
    } finally {
      admin.disconnect();
    }
    await waitFor('the API to accept tasks after CLIENT KILL', async () => (await trySubmit(api, { role: 'echo', payload: {} })).status === 202);
    const afterKill = [await api.submit('echo', { message: 'after kill' }), await api.submit('greeting', { name: 'after kill' })];
    await waitAllCompleted(api, afterKill);
    expect([busy.pid, idle.pid]).toEqual(pids);
    expect([...busy.stderr, ...idle.stderr]).toEqual([]);
  });
});
