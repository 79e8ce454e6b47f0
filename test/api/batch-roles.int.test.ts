import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { metricValue, roleCounts, waitForState } from './helpers';

const { api, env, worker } = usePlatform({
  ROLE_MODULES: resolve(__dirname, '../fixtures/roles/batches.cjs'),
  ROLES: 'echo,batch-store,batch-broken',
  // A lock shorter than the slow batch below: renewed while the batch runs, never lost.
  WORKER_LOCK_DURATION_MS: '1000',
  WORKER_STALLED_INTERVAL_MS: '1000',
});
const redis = testRedis();
afterAll(() => redis.disconnect());

interface BatchRecord {
  batchId: string;
  size: number;
  ns: number[];
  at: number;
}
const batches = async (): Promise<BatchRecord[]> => (await redis.lrange(`${env['QUEUE_PREFIX']}:batches`, 0, -1)).map((raw) => JSON.parse(raw) as BatchRecord);
const batchOf = async (n: number) => (await batches()).find((batch) => batch.ns.includes(n));
const submitBatch = async (payloads: object[]): Promise<string[]> => {
  const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks: payloads.map((payload) => ({ role: 'batch-store', payload })) } });
  expect(response.status, response.text).toBe(202);
  return (response.body.tasks as { id: string }[]).map((task) => task.id);
};

describe('batch roles: the handler takes up to `size` messages at once, each message ends on its own', () => {
  it('runs a lone message once maxWaitMs has passed, as a batch of one', async () => {
    const id = await api.submit('batch-store', { n: 1 });
    const task = await waitForState(api, id, 'completed');
    expect(task.result).toMatchObject({ n: 1, batchSize: 1, attempt: 1 });
    // It waited for company for maxWaitMs (300 ms) after it started.
    const batch = (await batchOf(1))!;
    expect(batch.at - Date.parse(task.startedAt)).toBeGreaterThanOrEqual(300);
  });

  it('one message failing for good fails alone: the rest of its batch completes', async () => {
    const ids = await submitBatch([100, 101, 102, 103, 104].map((n) => ({ n, fail: n === 102 })));
    const failed = await waitForState(api, ids[2]!, 'failed');
    expect(failed).toMatchObject({ attempts: 1, error: { code: 'TOLD_TO_FAIL', class: 'permanent' }, deadLetter: `/v1/dead-letters/${ids[2]}` });
    const done = await Promise.all([0, 1, 3, 4].map((at) => waitForState(api, ids[at]!, 'completed')));
    const batch = (await batchOf(100))!;
    expect(batch.ns.sort()).toEqual([100, 101, 102, 103, 104]);
    for (const task of done) expect(task.result).toMatchObject({ batchId: batch.batchId, batchSize: 5 });
  });

  it('a transient failure retries only its message, in a later batch', async () => {
    const ids = await submitBatch([200, 201, 202].map((n) => ({ n, flaky: n === 201 })));
    const [first, flaky, last] = await Promise.all(ids.map((id) => waitForState(api, id, 'completed')));
    expect(flaky.result).toMatchObject({ attempt: 2 });
    expect(flaky.attempts).toBe(2);
    for (const task of [first, last]) expect(task.result).toMatchObject({ attempt: 1, batchSize: 3 });
    // 200 and 202 ran once; 201 twice, the second time in a batch of its own.
    const runs = (await batches()).filter((batch) => batch.ns.some((n) => n >= 200 && n <= 202));
    expect(runs.map((batch) => batch.ns.sort())).toEqual([[200, 201, 202], [201]]);
  });

  it('renews the locks of a batch that runs longer than the lock: nothing stalls, nothing runs twice', async () => {
    const ids = await submitBatch([300, 301].map((n) => ({ n, holdMs: 2500 })));
    const done = await Promise.all(ids.map((id) => waitForState(api, id, 'completed')));
    for (const task of done) expect(task).toMatchObject({ attempts: 1, result: { batchSize: 2 } });
    expect((await batches()).filter((batch) => batch.ns.includes(300))).toHaveLength(1);
    expect(metricValue(await worker.metrics(), 'taskyard_tasks_stalled_total', { role: 'batch-store' }) ?? 0).toBe(0);
  });

  it('a handler answering the wrong number of outcomes fails its whole batch permanently (BATCH_OUTCOMES_MISMATCH)', async () => {
    const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks: [1, 2, 3].map((n) => ({ role: 'batch-broken', payload: { n } })) } });
    expect(response.status).toBe(202);
    for (const { id } of response.body.tasks as { id: string }[]) {
      expect(await waitForState(api, id, 'failed')).toMatchObject({ error: { code: 'BATCH_OUTCOMES_MISMATCH', class: 'permanent' } });
    }
  });

  it('takes 10 000 messages in batches of at most 50, most of them full', async () => {
    const before = (await roleCounts(api, 'batch-store')).completed ?? 0;
    const batchesBefore = (await batches()).length;
    for (let chunk = 0; chunk < 10; chunk++) await submitBatch(Array.from({ length: 1000 }, (_, at) => ({ n: 10_000 + chunk * 1000 + at })));
    await waitFor(
      'all 10 000 to complete',
      async () => ((await roleCounts(api, 'batch-store')).completed! - before >= 10_000 ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const ran = (await batches()).slice(batchesBefore);
    const handled = ran.flatMap((batch) => batch.ns).filter((n) => n >= 10_000);
    expect(handled).toHaveLength(10_000);
    expect(new Set(handled).size).toBe(10_000);
    expect(Math.max(...ran.map((batch) => batch.size))).toBe(50);
    // Far fewer handler calls than messages: batches were mostly full.
    expect(ran.length).toBeLessThanOrEqual(400);
    expect(metricValue(await worker.metrics(), 'taskyard_batch_size_count', { role: 'batch-store' })).toBeGreaterThanOrEqual(ran.length);
  });
});
