import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY, trySubmit, waitAllCompleted, type SubmitOutcome } from './helpers';

/**
 * Redis full: a small maxmemory under noeviction. Redis then refuses writes instead of evicting
 * keys; the API must turn that into 503 REDIS_FULL (never a 500, never a hang), and every task it
 * did accept must still complete once Redis has room again, with the worker never restarted.
 */
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** About 20 kB per task: a few hundred fill the 8 MB Redis below. */
const BIG_MESSAGE = 'x'.repeat(20_000);

async function submitAll(api: ApiServer, count: number, inFlight: number): Promise<SubmitOutcome[]> {
  const outcomes: SubmitOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const n = next++;
        outcomes.push(await trySubmit(api, { role: 'echo', payload: { message: `${n}:${BIG_MESSAGE}` } }));
      }
    }),
  );
  return outcomes;
}

describe('Redis full (maxmemory reached under noeviction)', () => {
  it('answers 503 REDIS_FULL under a flood, logs it once, and completes every accepted task once Redis has room', async () => {
    const redis = await new RedisServer({ appendfsync: 'everysec', maxmemory: '8mb', maxmemoryPolicy: 'noeviction' }).start();
    cleanups.push(() => redis.destroy());
    const env = testEnv({ ...FAST_RECOVERY, REDIS_URL: redis.url, ROLES: 'echo', LOG_LEVEL: 'info' });
    const api = await new ApiServer(env).start();
    cleanups.push(() => api.stop());
    const worker = await new WorkerProcess(env).start();
    cleanups.push(() => worker.stop());

    const outcomes = await submitAll(api, 800, 50);

    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(outcomes.filter((o) => o.status !== 202 && o.status !== 503)).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(100);
    for (const refusal of refused) expect(refusal).toMatchObject({ code: 'REDIS_FULL', retryAfter: expect.stringMatching(/^\d+$/) });
    expect(accepted.length).toBeGreaterThan(0);

    // Still full: a batch is refused the same way. A read answers, or (BullMQ reads a task's
    // log in a MULTI, which Redis refuses when full) is refused the same way: never a 500.
    const batch = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [{ role: 'echo', payload: { message: BIG_MESSAGE } }] } });
    expect({ status: batch.status, code: batch.body?.error?.code, retryAfter: batch.headers.get('retry-after') }).toEqual({
      status: 503,
      code: 'REDIS_FULL',
      retryAfter: '1',
    });
    const read = await api.request('GET', `/v1/tasks/${accepted[0]}`);
    expect(read.status === 200 || (read.status === 503 && read.body?.error?.code === 'REDIS_FULL'), read.text).toBe(true);

    // One warning per episode, not one per refused request: an episode ends only when a task is
    // accepted again (memory may hover at the limit while the worker runs, so there can be a few).
    const episodeLines = api.logs.filter((line) => String(line['msg']).startsWith('redis is full') || line['msg'] === 'redis takes writes again');
    const fullWarnings = episodeLines.filter((line) => String(line['msg']).startsWith('redis is full'));
    expect(fullWarnings.length).toBeGreaterThanOrEqual(1);
    expect(fullWarnings.length).toBeLessThan(refused.length / 5);
    expect(fullWarnings.every((line) => line['level'] === 'warn')).toBe(true);
    episodeLines.forEach((line, index) => expect(String(line['msg']).startsWith('redis is full'), `episode line ${index}`).toBe(index % 2 === 0));
    expect(api.logs.filter((line) => line['msg'] === 'request failed')).toEqual([]);

    // Room again (an operator raises maxmemory): the same API and worker carry on.
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    cleanups.push(() => admin.disconnect());
    await admin.config('SET', 'maxmemory', '256mb');
    const after = await waitFor('the API to accept a task again', async () => (await trySubmit(api, { role: 'echo', payload: { message: 'room again' } })).id);
    await waitFor('the end of the episode to be logged', () => api.logs.some((line) => line['msg'] === 'redis takes writes again'));

    await waitAllCompleted(api, [...accepted, after], 40_000);
    expect(await worker.health('/health/live')).toBe(200);
    expect(worker.logs.filter((line) => line['msg'] === 'worker stopped with an error')).toEqual([]);
  });
});
