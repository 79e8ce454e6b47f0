import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { metricValue, taskLine, waitForState } from './helpers';

const events = join(mkdtempSync(join(tmpdir(), 'taskyard-pools-')), 'events.log');
const env = testEnv({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/pools.cjs'), ROLES: 'pooled', POOL_EVENTS_FILE: events, LOG_LEVEL: 'debug' });
const api = new ApiServer(env);
const worker = new WorkerProcess(env);

beforeAll(async () => {
  await Promise.all([api.start(), worker.start()]);
});

afterAll(async () => {
  await Promise.all([api.stop(), worker.stop()]);
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

const lines = () => readFileSync(events, 'utf8').trim().split('\n').map((line) => line.split(' ').slice(0, 2).join(' '));

describe('a role’s resource pool in a worker process', () => {
  it('makes a borrower wait while the one connection is out, and fails it cleanly (POOL_TIMEOUT) past its wait', async () => {
    const holder = await api.submit('pooled', { holdMs: 1500 });
    await waitFor('the holder to start', () => worker.logs.some(taskLine(holder, 'task started')));
    const waiter = await api.submit('pooled', { holdMs: 0 });
    expect(await waitForState(api, waiter, 'failed')).toMatchObject({ error: { code: 'POOL_TIMEOUT', class: 'transient' } });
    expect(await waitForState(api, holder, 'completed')).toMatchObject({ result: { connection: 1 } });
    // The connection came back: the next borrower gets the same one.
    expect((await waitForState(api, await api.submit('pooled', { holdMs: 0 }), 'completed')).result).toEqual({ connection: 1 });
    const metrics = await worker.metrics();
    expect(metricValue(metrics, 'taskyard_pool_timeouts_total', { role: 'pooled', pool: 'db' })).toBe(1);
    expect(metricValue(metrics, 'taskyard_pool_resources', { role: 'pooled', pool: 'db', state: 'available' })).toBe(1);
  });

  it('drains on SIGTERM: the running task finishes with its connection, then every connection is destroyed before exit', async () => {
    const running = await api.submit('pooled', { holdMs: 1000 });
    await waitFor('the task to start', () => worker.logs.some(taskLine(running, 'task started')));
    worker.signal('SIGTERM');
    expect(await worker.exit()).toEqual({ code: 0, signal: null });
    expect((await api.task(running)).state).toBe('completed');
    expect(lines()).toEqual(['create 1', 'destroy 1']);
  });
});
