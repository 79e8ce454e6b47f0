import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { metricValue, waitForState } from './helpers';

const { api, env, worker } = usePlatform({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/outcomes.cjs') });
const redis = testRedis();
afterAll(() => redis.disconnect());

/** When each run of task `id` started (the fixture roles record them). */
const startsOf = async (id: string) => (await redis.lrange(`${env['QUEUE_PREFIX']}:oc:${id}:starts`, 0, -1)).map(Number);
const states = (task: { history: { state: string }[] }) => task.history.map((entry) => entry.state);

describe('handler outcomes', () => {
  it.each(['snoozer', 'isolated-snoozer'])('%s: a snooze runs the task again later without spending an attempt', async (role) => {
    const id = await api.submit(role, { times: 2, delayMs: 200 });
    const task = await waitForState(api, id, 'completed');
    // Three runs, one attempt: the role has two, and a snooze spends none.
    expect(task).toMatchObject({ result: { runs: 3, attempt: 1 }, attempts: 1, maxAttempts: 2 });
    // As a retry's backoff does: delayed, then active again.
    expect(states(task)).toEqual(['queued', 'active', 'delayed', 'active', 'delayed', 'active', 'completed']);
    const snoozes = task.history.filter((entry: { reason?: string }) => entry.reason?.startsWith('SNOOZED'));
    expect(snoozes.map((entry: { reason: string }) => entry.reason)).toEqual([
      expect.stringContaining('run 1: not ready'),
      expect.stringContaining('run 2: not ready'),
    ]);
    // Each run after a snooze waited out its delay.
    const runs = await startsOf(id);
    expect(runs).toHaveLength(3);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(200);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(200);
    expect(metricValue(await worker.metrics(), 'taskyard_tasks_processed_total', { role, outcome: 'snoozed' })).toBeGreaterThanOrEqual(2);
  });

  it('a cancel ends the task as cancelled with its reason: no retry, no dead letter', async () => {
    const id = await api.submit('quitter', { reason: 'the order was withdrawn' });
    const task = await waitForState(api, id, 'cancelled');
    expect(task).toMatchObject({ attempts: 1, state: 'cancelled' });
    expect(task.error).toBeUndefined();
    expect(task.history.at(-1).reason).toContain('the order was withdrawn');
    expect(await startsOf(id)).toHaveLength(1);
    expect((await api.request('GET', `/v1/dead-letters/${id}`)).status).toBe(404);
  });

  it('a transient error that names its retry delay is retried after that delay, not the backoff, spending an attempt', async () => {
    const id = await api.submit('retry-after', { retryAfterMs: 700 });
    const task = await waitForState(api, id, 'completed');
    expect(task).toMatchObject({ result: { attempt: 2 }, attempts: 2 });
    expect(states(task)).toEqual(['queued', 'active', 'delayed', 'active', 'completed']);
    expect(task.history[2].reason).toContain('DOWNSTREAM_BUSY');
    const [first, second] = await startsOf(id);
    // The role's backoff would have retried after 10 ms.
    expect(second! - first!).toBeGreaterThanOrEqual(700);
  });
});
