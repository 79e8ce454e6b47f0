import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CLUSTER_CATCH_UP_MS } from '../../apps/workers/src/notifier';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectError, metricValue, roleCounts, waitForState } from './helpers';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/cancellation.cjs');
// `parked` is run by no worker here, so its tasks stay queued until a test starts one for it.
const { api, env, workers } = usePlatform({ ROLES: 'echo,stubborn', ROLE_MODULES }, { workers: 1 });
const redis = testRedis();
afterAll(() => redis.disconnect());

const states = (task: { history: { state: string }[] }) => task.history.map((entry) => entry.state);
const cancel = (id: string) => api.request('DELETE', `/v1/tasks/${id}`);
/** The starts a cancellation fixture role recorded for task `id`. */
const startsOf = (id: string) => redis.llen(`${env['QUEUE_PREFIX']}:cx:${id}:started`);

describe('DELETE /v1/tasks/:id of a queued or delayed task', () => {
  it('cancels a queued task: 200 cancelled, gone from the queue counts, and a worker never runs it', async () => {
    const id = await api.submit('parked', { label: 'cancel me' }, { metadata: { correlationId: 'cancel-queued' } });
    expect((await roleCounts(api, 'parked')).queued).toBe(1);

    const response = await cancel(id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id, role: 'parked', state: 'cancelled', attempts: 0, correlationId: 'cancel-queued' });
    expect(states(response.body)).toEqual(['queued', 'cancelled']);
    expect(response.body.finishedAt).toBeDefined();
    expect(response.body.result).toBeUndefined();
    expect(response.body.error).toBeUndefined();
    expect(await roleCounts(api, 'parked')).toMatchObject({ queued: 0, active: 0, failed: 0 });
    expect(await api.task(id)).toEqual(response.body);

    // Repeating the DELETE changes nothing.
    const again = await cancel(id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(response.body);

    // A worker for the role now runs the next task, never the cancelled one.
    const parkedWorker = await new WorkerProcess({ ...env, ROLES: 'parked' }).start();
    try {
      const control = await api.submit('parked', { label: 'control' });
      await waitForState(api, control, 'completed');
      expect(await startsOf(control)).toBe(1);
      expect(await startsOf(id)).toBe(0);
      expect((await api.task(id)).state).toBe('cancelled');
    } finally {
      await parkedWorker.stop();
    }
  });

  it('cancels a delayed task before it runs', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'later' }, options: { delayMs: 60_000 } } });
    const id = response.body.id as string;
    expect((await api.task(id)).state).toBe('delayed');

    const cancelled = await cancel(id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, state: 'cancelled', attempts: 0 });
    expect(states(cancelled.body)).toEqual(['delayed', 'cancelled']);
    expect((await roleCounts(api, 'echo')).delayed).toBe(0);
  });
});

describe('DELETE /v1/tasks/:id of an active task', () => {
  it('aborts it through its AbortSignal: 202, then cancelled, never retried nor dead-lettered', async () => {
    const id = await api.submit('echo', { message: 'long', sleepMs: 30_000 });
    await waitForState(api, id, 'active');

    const response = await cancel(id);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ id, cancellationRequested: true, attempts: 1 });
    // The abort is under way, or already done.
    expect(['active', 'cancelled']).toContain(response.body.state);

    const task = await waitForState(api, id, 'cancelled', 15_000);
    expect(task).toMatchObject({ state: 'cancelled', attempts: 1, maxAttempts: 3 });
    expect(states(task)).toEqual(['queued', 'active', 'cancelled']);
    expect(task.history.at(-1).reason).toContain('CANCELLED');
    expect(task.error).toBeUndefined();
    expect(task.deadLetter).toBeUndefined();
    // The view says cancelled once the attempt's record is written, just before BullMQ moves the job out of active.
    await expect.poll(() => roleCounts(api, 'echo')).toMatchObject({ active: 0, delayed: 0, queued: 0 });

    const again = await cancel(id);
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('cancelled');

    const metrics = await workers[0]!.metrics();
    expect(metricValue(metrics, 'taskyard_tasks_processed_total', { role: 'echo', outcome: 'cancelled' })).toBeGreaterThanOrEqual(1);
    await workers[0]!.waitForLog('the cancellation log line', (line) => line['taskId'] === id && line.msg === 'task cancelled');
    // The dead-letter list does not carry it (cancelled on purpose is not dead).
    const dead = await api.request('GET', `/v1/dead-letters/${id}`);
    expect(dead.status).toBe(404);
  });

  it('reaches an attempt whose worker was reconnecting its subscriber when the cancellation was published', async () => {
    const id = await api.submit('echo', { message: 'long', sleepMs: 30_000 });
    await waitForState(api, id, 'active');
    // Cut this worker's cancellation subscriber, then cancel at once: the API publishes while
    // nobody listens (the subscriber reconnects within ~100 ms; the DELETE takes a few).
    // Every channel a worker listens on (cancellations among them) is on its one notifier connection.
    const name = `taskyard-worker-notifier:${hostname()}:${workers[0]!.pid}`;
    // On a cluster the subscriber is ioredis' own connection to one of the nodes, named after
    // the client (`ioredis-cluster(subscriber):<name>`): look on each node. (The notifier's
    // cluster client also has a command connection to every node, named `<name>`: not that one.)
    const clustered = 'nodes' in redis;
    const wanted = clustered ? ` name=ioredis-cluster(subscriber):${name} ` : ` name=${name} `;
    const servers = clustered ? redis.nodes('master') : [redis];
    const found = (await Promise.all(servers.map(async (server) => ({ server, line: String(await server.client('LIST')).split('\n').find((entry) => entry.includes(wanted)) })))).find(
      (candidate) => candidate.line !== undefined,
    );
    expect(found).toBeDefined();
    await found!.server.client('KILL', 'ID', /\bid=(\d+)/.exec(found!.line!)![1]!);
    expect((await cancel(id)).status).toBe(202);

    // Once subscribed again (on a cluster: at its next catch-up), the worker reads the ledger
    // records of its running tasks.
    const task = await waitForState(api, id, 'cancelled', 10_000 + CLUSTER_CATCH_UP_MS);
    expect(states(task)).toEqual(['queued', 'active', 'cancelled']);
    await workers[0]!.waitForLog('the abort', (line) => line['taskId'] === id && line.msg === 'task cancelled: aborting its attempt');
  });

  it('ends the attempt at once even when the handler ignores its signal', async () => {
    const id = await api.submit('stubborn', { holdMs: 20_000 });
    await waitFor('the stubborn handler to start', async () => (await startsOf(id)) === 1);

    const response = await cancel(id);
    expect(response.status).toBe(202);
    const task = await waitForState(api, id, 'cancelled', 15_000);
    expect(states(task)).toEqual(['queued', 'active', 'cancelled']);
    // Cancelled while the handler was still holding on: the attempt did not wait for it.
    expect(await redis.exists(`${env['QUEUE_PREFIX']}:cx:${id}:finished`)).toBe(0);
    expect(await startsOf(id)).toBe(1);
  });
});

describe('DELETE /v1/tasks/:id refusals', () => {
  it('409 TASK_FINISHED for a completed task, which keeps its result', async () => {
    const id = await api.submit('echo', { message: 'done already' });
    await waitForState(api, id, 'completed');
    const error = expectError(await cancel(id), 409, 'TASK_FINISHED');
    expect(error.details).toEqual({ state: 'completed' });
    expect(await api.task(id)).toMatchObject({ state: 'completed', result: { echo: { message: 'done already' } } });
  });

  it('409 TASK_FINISHED for a failed task', async () => {
    const id = await api.submit('echo', { failTimes: 1 }, { options: { attempts: 1 } });
    await waitForState(api, id, 'failed');
    expectError(await cancel(id), 409, 'TASK_FINISHED');
    expect((await api.task(id)).state).toBe('failed');
  });

  it('404 NOT_FOUND for an unknown or malformed id, 401 without a key', async () => {
    expectError(await cancel('00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
    expectError(await cancel('not-a-task-id'), 404, 'NOT_FOUND');
    const id = await api.submit('parked', {});
    expectError(await api.request('DELETE', `/v1/tasks/${id}`, { auth: false }), 401, 'UNAUTHORIZED');
    expect((await api.task(id)).state).toBe('queued');
  });
});
