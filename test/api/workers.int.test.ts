import { afterAll, describe, expect, it } from 'vitest';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectError, metricValue, waitForState } from './helpers';

const HEARTBEAT_MS = 300;
const dashboard = key('grafana', ['dashboard:read']);
const tenantKey = key('acme-key', ['dashboard:read', 'tasks:read'], { tenant: 'acme' });
const file = new KeyFile([dashboard, tenantKey]);
// The workers run echo only: the document roles have no live worker.
const { api, env, workers } = usePlatform({ ROLES: 'echo', WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS), API_KEYS_FILE: file.path }, { workers: 2 });
const extra: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(extra.map((worker) => worker.stop()));
});

const list = async () => {
  const response = await api.request('GET', '/v1/workers');
  expect(response.status, response.text).toBe(200);
  return response.body.items as any[];
};
const entryOf = async (worker: WorkerProcess) => (await list()).find((entry) => entry.pid === worker.pid);

describe('the worker registry', () => {
  it('lists every live worker process with its roles, concurrency, version, times and counts', async () => {
    const items = await waitFor('both workers', async () => {
      const found = await list();
      return found.length === 2 ? found : undefined;
    });
    expect(items.map((entry) => entry.pid).sort()).toEqual(workers.map((worker) => worker.pid).sort());
    for (const entry of items) {
      expect(entry).toMatchObject({ roles: [{ name: 'echo', concurrency: 50 }], concurrency: 50, version: '0.1.0', active: 0, id: expect.stringContaining(`:${entry.pid}:`) });
      expect(Date.now() - Date.parse(entry.lastSeenAt)).toBeLessThan(10_000);
      expect(Date.parse(entry.startedAt)).toBeLessThanOrEqual(Date.parse(entry.lastSeenAt));
    }
    const ids = await Promise.all(Array.from({ length: 6 }, (_, at) => api.submit('echo', { message: `m${at}` })));
    await Promise.all(ids.map((id) => waitForState(api, id, 'completed')));
    const counted = await waitFor('the heartbeats to count the tasks', async () => {
      const found = await list();
      const processed = found.reduce((sum, entry) => sum + entry.processed, 0);
      return processed >= 6 ? found : undefined;
    });
    expect(counted.every((entry) => entry.failed === 0)).toBe(true);
  });

  it('shows live workers per role in GET /v1/roles, flags a role with waiting tasks and no worker, and counts them in taskyard_workers', async () => {
    await api.submit('docs.ingest', { title: 't', text: 'No worker runs me.' });
    const roles = (await api.request('GET', '/v1/roles')).body.roles as any[];
    expect(roles.find((role) => role.name === 'echo')).toMatchObject({ workers: 2, unattended: false });
    expect(roles.find((role) => role.name === 'docs.ingest')).toMatchObject({ workers: 0, unattended: true });
    expect(roles.find((role) => role.name === 'docs.store')).toMatchObject({ workers: 0, unattended: false });
    const metrics = (await api.request('GET', '/metrics', { auth: false })).text;
    expect(metricValue(metrics, 'taskyard_workers', { role: 'echo' })).toBe(2);
    expect(metricValue(metrics, 'taskyard_workers', { role: 'docs.ingest' })).toBe(0);
  });

  it('a worker that joins appears; SIGKILLed, it leaves within its window (three heartbeats) and its departure is logged', async () => {
    const third = await new WorkerProcess(env).start();
    extra.push(third);
    const entry = await waitFor('the new worker to register', () => entryOf(third));
    third.signal('SIGKILL');
    await third.exit();
    // Gone within its window (3 × 300 ms) plus a heartbeat of the reader's, with room for a loaded machine.
    await waitFor('the killed worker to leave', async () => ((await entryOf(third)) ? undefined : true), { timeoutMs: 3 * HEARTBEAT_MS + 5000, intervalMs: 50 });
    // Whoever reads the registry first after the window prunes the entry and logs it: a worker's heartbeat or this API.
    await waitFor('a departure line', () =>
      [...workers.flatMap((worker) => worker.logs), ...api.logs].find((line) => line['workerId'] === entry.id && String(line['msg']).includes('left the registry')),
    );
  });

  it('a worker stopped with SIGTERM leaves the registry as it exits', async () => {
    const fourth = await new WorkerProcess(env).start();
    extra.push(fourth);
    await waitFor('the new worker to register', () => entryOf(fourth));
    await fourth.stop();
    expect(await entryOf(fourth)).toBeUndefined();
    expect(fourth.logs.some((line) => line.msg === 'left the worker registry')).toBe(true);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    const items = doc.paths['/v1/workers'].get.responses['200'].content['application/json'].schema.properties.items;
    expect(Object.keys(items.items.properties)).toEqual(expect.arrayContaining(['id', 'host', 'pid', 'roles', 'concurrency', 'startedAt', 'lastSeenAt', 'active', 'processed', 'failed']));
  });

  it('is for operator keys: dashboard:read may read it, a tenant key may not', async () => {
    expect((await api.request('GET', '/v1/workers', { auth: false, headers: bearer(dashboard) })).status).toBe(200);
    expectError(await api.request('GET', '/v1/workers', { auth: false, headers: bearer(tenantKey) }), 403, 'FORBIDDEN');
  });
});
