import { resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv, testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectError } from '../api/helpers';
import { FAST_RECOVERY, holderOf, metricValue, taskLine, waitForState } from './helpers';

/** dl-flaky: 4 attempts, exponential backoff from 300 ms, no jitter (test/fixtures/roles/dead-letters.cjs). */
const BACKOFF_DELAY_MS = 300;

const env = testEnv({
  ...FAST_RECOVERY,
  LOG_LEVEL: 'debug',
  ROLE_MODULES: resolve(__dirname, '../fixtures/roles/dead-letters.cjs'),
  ROLES: 'echo,dl-flaky,dl-broken',
});
const prefix = env['QUEUE_PREFIX']!;
const api = new ApiServer(env);
const replicas = [new WorkerProcess(env), new WorkerProcess(env)];
let redis: Redis | Cluster;

beforeAll(async () => {
  redis = testRedis({ maxRetriesPerRequest: 1 });
  await Promise.all([api.start(), ...replicas.map((replica) => replica.start())]);
});

afterAll(async () => {
  await Promise.all([api.stop(), ...replicas.map((replica) => replica.stop())]);
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, prefix);
});

async function deadLetterCount(role: string): Promise<number> {
  let total = 0;
  for (const replica of replicas) total += metricValue(await replica.metrics(), 'taskyard_dead_letters_total', { role }) ?? 0;
  return total;
}

describe('fault: a handler that always fails', () => {
  it('is retried with growing gaps as configured, then dead-lettered with all 4 errors; replay completes once the downstream recovers', async () => {
    const deadId = await api.submit('dl-flaky', { downstream: 'payments' }, { metadata: { correlationId: 'fault-7' } });
    const task = await waitForState(api, deadId, 'failed', 30_000);
    expect(task).toMatchObject({ attempts: 4, maxAttempts: 4, deadLetter: `/v1/dead-letters/${deadId}` });
    expect(task.history.map((entry: { state: string }) => entry.state)).toEqual([
      'queued', 'active', 'delayed', 'active', 'delayed', 'active', 'delayed', 'active', 'failed',
    ]);

    const letter = (await api.request('GET', `/v1/dead-letters/${deadId}`)).body;
    expect(letter).toMatchObject({
      id: deadId,
      role: 'dl-flaky',
      reason: 'attempts-exhausted',
      maxAttempts: 4,
      correlationId: 'fault-7',
      error: { code: 'DOWNSTREAM_DOWN', class: 'transient', message: 'downstream payments is down' },
    });
    expect(letter.attempts.map((attempt: any) => [attempt.attempt, attempt.willRetry, attempt.error.code])).toEqual([
      [1, true, 'DOWNSTREAM_DOWN'],
      [2, true, 'DOWNSTREAM_DOWN'],
      [3, true, 'DOWNSTREAM_DOWN'],
      [4, false, 'DOWNSTREAM_DOWN'],
    ]);
    // The wait before attempt n+1 is at least the configured delay for it (300, 600, 1200 ms),
    // so the gaps grow: the last is several times the first.
    const gaps = [1, 2, 3].map((n) => letter.attempts[n].startedAt - letter.attempts[n - 1].failedAt);
    gaps.forEach((gap, at) => expect(gap, `gap before attempt ${at + 2}: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(BACKOFF_DELAY_MS * 2 ** at));
    expect(gaps[2]!, `gaps ${gaps.join(', ')} ms`).toBeGreaterThan(gaps[0]! * 2);
    expect(await deadLetterCount('dl-flaky')).toBe(1);

    // The downstream recovers; the dead letter is replayed as a new task caused by the dead one.
    await redis.set(`${prefix}:test:recovered:payments`, '1');
    const replay = await api.request('POST', `/v1/dead-letters/${deadId}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ role: 'dl-flaky', state: 'queued', deadLetterId: deadId });
    const replayed = await waitForState(api, replay.body.id, 'completed');
    expect(replayed).toMatchObject({ causationId: deadId, correlationId: 'fault-7', attempts: 1, result: { ok: true, attempt: 1 } });
    expectError(await api.request('GET', `/v1/dead-letters/${deadId}`), 404, 'NOT_FOUND');
    expect((await api.task(deadId)).deadLetter).toBeUndefined();
  });

  it('a permanent error takes one attempt and is dead-lettered as permanent', async () => {
    const deadId = await api.submit('dl-broken', { n: 1 });
    const task = await waitForState(api, deadId, 'failed');
    expect(task).toMatchObject({ attempts: 1, maxAttempts: 3, error: { code: 'DL_BROKEN', class: 'permanent', attempt: 1 } });
    const letter = (await api.request('GET', task.deadLetter)).body;
    expect(letter).toMatchObject({ reason: 'permanent-error', error: { code: 'DL_BROKEN', class: 'permanent' } });
    expect(letter.attempts).toHaveLength(1);
    expect(await deadLetterCount('dl-broken')).toBe(1);
  });
});

describe('fault: a task whose workers keep dying', () => {
  it('is failed by BullMQ after stalling more often than allowed, and dead-lettered as stalled', async () => {
    const id = await api.submit('echo', { message: 'poison', sleepMs: 30_000 });
    const first = await holderOf(id, replicas);
    first.signal('SIGKILL');
    await first.exit();
    // The other replica finds the stalled task and runs it again; it dies too.
    const second = replicas.find((replica) => replica !== first)!;
    await second.waitForLog('the second replica to start the task', taskLine(id, 'task started'), 20_000);
    second.signal('SIGKILL');
    await second.exit();

    // A fresh replica finds it stalled a second time (more than BullMQ's limit of 1) and fails it.
    const third = new WorkerProcess(env);
    replicas.push(third);
    await third.start();
    // BullMQ fails a stalled job itself, so its dead letter is written just after (from the
    // worker's 'failed' event), not before the task reads failed as on the processor's path.
    const task = await waitFor(
      'the stalled task to be failed and dead-lettered',
      async () => {
        const view = await api.task(id);
        return view?.state === 'failed' && view.deadLetter ? view : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(task.deadLetter).toBe(`/v1/dead-letters/${id}`);
    const letter = (await api.request('GET', task.deadLetter)).body;
    expect(letter).toMatchObject({
      id,
      role: 'echo',
      reason: 'stalled',
      error: { code: 'STALLED', message: expect.stringContaining('stalled') },
      attempts: [],
      message: { id, payload: { message: 'poison', sleepMs: 30_000 } },
    });
    expect(third.logs.some(taskLine(id, 'task started'))).toBe(false);
    expect(metricValue(await third.metrics(), 'taskyard_dead_letters_total', { role: 'echo' })).toBe(1);
  });
});
