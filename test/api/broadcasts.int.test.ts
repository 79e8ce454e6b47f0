import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_CATCH_UP_MS } from '../../apps/workers/src/notifier';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { testRedis } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess, type LogLine } from '../support/worker-process';
import { expectError, waitForState } from './helpers';

const HEARTBEAT_MS = 300;
const dashboard = key('grafana', ['dashboard:read', 'tasks:read', 'tasks:submit']);
const tenantAdmin = key('acme-admin', ['admin'], { tenant: 'acme' });
const file = new KeyFile([dashboard, tenantAdmin]);
const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/broadcasts.cjs');
// Three replicas of echo and cache; `audit` is run only by a worker a test starts later.
const { api, env, workers } = usePlatform(
  { ROLES: 'echo,cache', ROLE_MODULES, WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS), API_KEYS_FILE: file.path },
  { workers: 3 },
);
const extra: WorkerProcess[] = [];
const redis = testRedis();
afterAll(async () => {
  await Promise.all(extra.map((worker) => worker.stop()));
  redis.disconnect();
});

const broadcast = async (type: string, payload?: unknown) => {
  const response = await api.request('POST', '/v1/broadcasts', { body: { type, ...(payload === undefined ? {} : { payload }) } });
  expect(response.status, response.text).toBe(202);
  expect(response.headers.get('location')).toBe(`/v1/broadcasts/${response.body.id}`);
  return response.body.id as string;
};
const view = async (id: string) => {
  const response = await api.request('GET', `/v1/broadcasts/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.body;
};
/** The broadcast once every expected worker acknowledged it. */
const acknowledged = (id: string, timeoutMs = 15_000) =>
  waitFor(
    `every expected worker to acknowledge ${id}`,
    async () => {
      const found = await view(id);
      return found.acks.length === found.expected.length ? found : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
const liveWorkers = async () => (await api.request('GET', '/v1/workers')).body.items as { id: string; pid: number; active: number; roles: { name: string }[] }[];
const registered = (count: number) => waitFor(`${count} live workers`, async () => ((await liveWorkers()).length === count ? liveWorkers() : undefined));
const idOf = async (worker: WorkerProcess) => waitFor('the worker to register', async () => (await liveWorkers()).find((entry) => entry.pid === worker.pid)?.id);
const startedLine = (taskId: string) => (line: LogLine) => line['taskId'] === taskId && line.msg === 'task started';

describe('broadcasts', () => {
  it('pause-role reaches every replica, each acknowledges, and none takes the role (a later worker neither) until resume-role', async () => {
    const replicas = await registered(3);
    const id = await broadcast('pause-role', { role: 'echo' });
    const paused = await acknowledged(id);
    expect([...paused.expected].sort()).toEqual(replicas.map((entry) => entry.id).sort());
    expect(paused).toMatchObject({ id, type: 'pause-role', payload: { role: 'echo' }, createdAt: expect.any(String) });
    for (const ack of paused.acks) expect(ack).toEqual({ workerId: ack.workerId, at: expect.any(String), result: { active: 0 } });

    const held = await Promise.all([1, 2, 3].map((n) => api.submit('echo', { message: `held ${n}` })));
    // A task of another role submitted after them completes: the workers take work, just not echo's.
    await waitForState(api, await api.submit('cache', { key: 'k1' }), 'completed');
    for (const taskId of held) expect((await api.task(taskId)).state).toBe('queued');

    // A worker that starts while echo is paused runs echo too, yet takes none of its tasks.
    const late = await new WorkerProcess({ ...env, ROLES: 'echo,cache' }).start();
    extra.push(late);
    await idOf(late);
    await waitForState(api, await api.submit('cache', { key: 'k2' }), 'completed');
    for (const taskId of held) expect((await api.task(taskId)).state).toBe('queued');

    const resumed = await acknowledged(await broadcast('resume-role', { role: 'echo' }));
    expect(resumed.expected).toHaveLength(4);
    await Promise.all(held.map((taskId) => waitForState(api, taskId, 'completed')));
    await late.stop();
  });

  it('set-log-level changes the level of every worker at once, and a worker that starts later starts at it', async () => {
    await registered(3);
    const before = await api.submit('echo', { message: 'at info' });
    await waitForState(api, before, 'completed');
    // Started at info: the debug line "task started" is not written.
    expect(workers.some((worker) => worker.logs.some(startedLine(before)))).toBe(false);

    const set = await acknowledged(await broadcast('set-log-level', { level: 'debug' }));
    expect(set.acks.map((ack: any) => ack.result)).toEqual([{ level: 'debug' }, { level: 'debug' }, { level: 'debug' }]);
    const after = await api.submit('echo', { message: 'at debug' });
    await waitFor('a debug line about the task', () => workers.some((worker) => worker.logs.some(startedLine(after))));

    // The late worker is the only one running `audit`: its task's debug line shows its level.
    const late = await new WorkerProcess({ ...env, ROLES: 'audit' }).start();
    extra.push(late);
    expect(late.logs.find((line) => line.msg === 'log level changed')).toMatchObject({ levels: { '*': 'debug' } });
    const audited = await api.submit('audit', {});
    await waitForState(api, audited, 'completed');
    await late.waitForLog('a debug line about its task', startedLine(audited));
    await late.stop();

    await acknowledged(await broadcast('set-log-level', { level: 'info' }));
  });

  it('a role’s own type runs in every worker running the role, its result in the acknowledgements, also for a worker whose subscriber was reconnecting', async () => {
    const replicas = await registered(3);
    // Cut one worker's notifier connection just before the broadcast: its catch-up after the reconnect applies it.
    const name = `taskyard-worker-notifier:${hostname()}:${workers[0]!.pid}`;
    const clustered = 'nodes' in redis;
    const wanted = clustered ? ` name=ioredis-cluster(subscriber):${name} ` : ` name=${name} `;
    const servers = clustered ? redis.nodes('master') : [redis];
    const found = (await Promise.all(servers.map(async (server) => ({ server, line: String(await server.client('LIST')).split('\n').find((entry) => entry.includes(wanted)) })))).find(
      (candidate) => candidate.line !== undefined,
    );
    expect(found).toBeDefined();
    await found!.server.client('KILL', 'ID', /\bid=(\d+)/.exec(found!.line!)![1]!);

    const id = await broadcast('cache.flush', { prefix: 'user:' });
    const done = await acknowledged(id, 10_000 + CLUSTER_CATCH_UP_MS);
    expect([...done.expected].sort()).toEqual(replicas.map((entry) => entry.id).sort());
    const pidOf = new Map(replicas.map((entry) => [entry.id, entry.pid]));
    for (const ack of done.acks) expect(ack.result).toEqual({ cache: { flushed: 'user:', pid: pidOf.get(ack.workerId) } });
    // The handler's log line carries the role and the broadcast.
    await workers[0]!.waitForLog('the handler’s line', (line) => line.msg === 'cache flushed' && line['role'] === 'cache' && line['broadcastId'] === id);
  });

  it('drain of one worker: it acknowledges, finishes its active task, exits 0 and leaves the registry; the others stay', async () => {
    const replicas = await registered(3);
    const taskId = await api.submit('echo', { message: 'finish me', sleepMs: 3000 });
    const busy = await waitFor('the worker running the task', async () => (await liveWorkers()).find((entry) => entry.active > 0), { intervalMs: 50 });
    const process = workers.find((worker) => worker.pid === busy.pid)!;
    const id = await broadcast('drain', { workerIds: [busy.id] });
    expect((await view(id)).expected).toEqual([busy.id]);

    expect(await process.exit()).toEqual({ code: 0, signal: null });
    const task = await waitForState(api, taskId, 'completed');
    expect(task.attempts).toBe(1);
    expect((await view(id)).acks).toEqual([{ workerId: busy.id, at: expect.any(String), result: { active: 1 } }]);
    expect(process.logs.some((line) => line.msg === 'left the worker registry')).toBe(true);
    const left = await liveWorkers();
    expect(left.map((entry) => entry.id).sort()).toEqual(replicas.filter((entry) => entry.id !== busy.id).map((entry) => entry.id).sort());
  });

  it('lists broadcasts newest first, page by page', async () => {
    const first = await broadcast('set-log-level', { level: 'info', role: 'echo' });
    const second = await broadcast('resume-role', { role: 'cache' });
    const page = await api.request('GET', '/v1/broadcasts?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.items.map((item: any) => item.id)).toEqual([second]);
    const next = await api.request('GET', `/v1/broadcasts?limit=1&cursor=${page.body.nextCursor}`);
    expect(next.body.items.map((item: any) => item.id)).toEqual([first]);
    expect(next.body.items[0]).toMatchObject({ type: 'set-log-level', payload: { level: 'info', role: 'echo' }, expected: expect.any(Array), acks: expect.any(Array) });
    const all = await api.request('GET', '/v1/broadcasts?limit=100');
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items.length).toBeGreaterThanOrEqual(7);
    expectError(await api.request('GET', '/v1/broadcasts?limit=101'), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/broadcasts?cursor=nonsense'), 400, 'VALIDATION_FAILED');
  });

  it('refuses an unknown type, a payload its type’s schema refuses, and roles or workers the deployment does not have (400)', async () => {
    const refuse = async (body: unknown, code: string, field?: string) => {
      const error = expectError(await api.request('POST', '/v1/broadcasts', { body }), 400, code);
      if (field) expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      return error;
    };
    expect((await refuse({ type: 'reboot', payload: {} }, 'UNKNOWN_BROADCAST_TYPE', 'type')).message).toContain('pause-role');
    await refuse({ type: 'pause-role', payload: {} }, 'VALIDATION_FAILED', 'payload.role');
    await refuse({ type: 'pause-role', payload: { role: 'nobody' } }, 'VALIDATION_FAILED', 'payload.role');
    await refuse({ type: 'set-log-level', payload: { level: 'loud' } }, 'VALIDATION_FAILED', 'payload.level');
    await refuse({ type: 'drain', payload: { workerIds: ['not-a-live-worker'] } }, 'VALIDATION_FAILED', 'payload.workerIds.0');
    await refuse({ type: 'cache.flush', payload: { prefix: 5 } }, 'VALIDATION_FAILED', 'payload.prefix');
    await refuse({ type: 'cache.flush', payload: { prefix: 'x'.repeat(20_000) } }, 'VALIDATION_FAILED', 'payload');
    await refuse({ type: 'Not A Type' }, 'VALIDATION_FAILED');
    await refuse({ type: 'drain', extra: true }, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/broadcasts/bc_00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND');
    // Refused means not applied: echo still runs.
    await waitForState(api, await api.submit('echo', { message: 'still running' }), 'completed');
  });

  it('is for operators holding admin: another scope and a tenant key (admin or not) get 403', async () => {
    const post = (entry: { secret: string }) => api.request('POST', '/v1/broadcasts', { auth: false, headers: bearer(entry), body: { type: 'resume-role', payload: { role: 'echo' } } });
    expect(expectError(await post(dashboard), 403, 'FORBIDDEN').details).toEqual({ scope: 'admin' });
    expect(expectError(await post(tenantAdmin), 403, 'FORBIDDEN').message).toContain('bound to a tenant');
    expectError(await api.request('GET', '/v1/broadcasts', { auth: false, headers: bearer(dashboard) }), 403, 'FORBIDDEN');
    expectError(await api.request('GET', '/v1/broadcasts', { auth: false, headers: bearer(tenantAdmin) }), 403, 'FORBIDDEN');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    expect(Object.keys(doc.paths['/v1/broadcasts'])).toEqual(expect.arrayContaining(['post', 'get']));
    expect(Object.keys(doc.paths['/v1/broadcasts/{id}'])).toEqual(['get']);
    const item = doc.paths['/v1/broadcasts/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(item.properties)).toEqual(expect.arrayContaining(['id', 'type', 'payload', 'createdAt', 'expected', 'acks']));
  });
});
