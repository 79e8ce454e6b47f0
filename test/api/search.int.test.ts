import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { bearer, key, KeyFile } from '../support/key-file';
import { WorkerProcess } from '../support/worker-process';
import { waitFor } from '../support/wait-for';
import { expectError, roleCounts, waitForState } from './helpers';

const acme = key('acme-key', ['tasks:submit', 'tasks:read', 'tasks:cancel'], { tenant: 'acme' });
const globex = key('globex-key', ['tasks:submit', 'tasks:read'], { tenant: 'globex' });
const ops = key('ops', ['admin']);
const writer = key('writer', ['tasks:submit']);
const file = new KeyFile([acme, globex, ops, writer]);
const as = (entry: { secret: string }) => ({ auth: false, headers: bearer(entry) });

interface Summary {
  id: string;
  role: string;
  state: string;
  createdAt: string;
  finishedAt?: string;
  labels: Record<string, string>;
  correlationId: string;
  tenant?: string;
}

describe('GET /v1/tasks: search by role, state, correlation id, labels and time, newest first', () => {
  // No worker to begin with: the test starts one when it wants tasks to move.
  const { api, env } = usePlatform({ API_KEYS_FILE: file.path, ROLES: 'echo,greeting', ROLE_MODULES: `${__dirname}/../fixtures/roles/greeting.cjs` }, { workers: 0 });
  const worker = new WorkerProcess(env);
  afterAll(() => worker.stop());

  const search = async (query: string, entry: { secret: string } = ops): Promise<{ items: Summary[]; nextCursor: string | null }> => {
    const response = await api.request('GET', `/v1/tasks${query}`, as(entry));
    expect(response.status, response.text).toBe(200);
    return response.body;
  };
  const submit = async (entry: { secret: string }, body: Record<string, unknown>): Promise<string> => {
    const response = await api.request('POST', '/v1/tasks', { ...as(entry), body });
    expect(response.status, response.text).toBe(202);
    return response.body.id as string;
  };
  const ids = (page: { items: Summary[] }) => page.items.map((item) => item.id);

  const tagged: Record<string, string> = {};

  it('filters by every field and by their combination; a tenant key finds its tenant\'s tasks only', async () => {
    tagged['a-gold'] = await submit(acme, { role: 'echo', payload: { message: '1' }, metadata: { labels: { customer: 'c1', tier: 'gold' } } });
    tagged['a-free'] = await submit(acme, { role: 'greeting', payload: { name: 'x' }, metadata: { labels: { customer: 'c1', tier: 'free' }, correlationId: 'order-1' } });
    tagged['g-gold'] = await submit(globex, { role: 'echo', payload: { message: '2' }, metadata: { labels: { customer: 'c1', tier: 'gold' }, correlationId: 'order-1' } });
    tagged['later'] = await submit(acme, { role: 'echo', payload: { message: '3' }, options: { delayMs: 600_000 }, metadata: { correlationId: 'order-1' } });

    expect(ids(await search('?label=customer:c1', acme))).toEqual([tagged['a-free'], tagged['a-gold']]);
    expect(ids(await search('?label=customer:c1'))).toEqual([tagged['g-gold'], tagged['a-free'], tagged['a-gold']]);
    expect(ids(await search('?label=customer:c1&label=tier:gold'))).toEqual([tagged['g-gold'], tagged['a-gold']]);
    expect(ids(await search('?label=customer:c1&label=tier:gold&tenant=acme'))).toEqual([tagged['a-gold']]);
    expect(ids(await search('?correlationId=order-1', acme))).toEqual([tagged['later'], tagged['a-free']]);
    expect(ids(await search('?correlationId=order-1&role=echo'))).toEqual([tagged['later'], tagged['g-gold']]);
    expect(ids(await search('?correlationId=order-1&state=delayed'))).toEqual([tagged['later']]);
    expect(ids(await search('?role=greeting', globex))).toEqual([]);
    // Naming another tenant finds nothing, as an unknown id would.
    expect(ids(await search('?tenant=globex', acme))).toEqual([]);

    const [newest] = (await search('?limit=1', acme)).items;
    expect(newest).toEqual({
      id: tagged['later'],
      role: 'echo',
      state: 'delayed',
      createdAt: expect.any(String),
      labels: {},
      correlationId: 'order-1',
      tenant: 'acme',
    });
    const created = Date.parse(newest!.createdAt);
    expect(ids(await search(`?createdAfter=${new Date(created).toISOString()}`, acme))).toEqual([tagged['later']]);
    expect(ids(await search(`?createdBefore=${new Date(created).toISOString()}&label=customer:c1`, acme))).toEqual([tagged['a-free'], tagged['a-gold']]);
  });

  it('answers a task by its state as GET /v1/tasks/:id does, as it changes', async () => {
    const cancelled = tagged['later']!;
    expect((await api.request('DELETE', `/v1/tasks/${cancelled}`, as(acme))).status).toBe(200);
    expect((await search('?state=cancelled', acme)).items).toMatchObject([{ id: cancelled, state: 'cancelled', correlationId: 'order-1', finishedAt: expect.any(String) }]);
    await worker.start();
    await Promise.all([tagged['a-gold']!, tagged['g-gold']!, tagged['a-free']!].map((id) => waitForState(api, id, 'completed')));
    const done = await search('?state=completed&label=customer:c1');
    expect(ids(done)).toEqual([tagged['g-gold'], tagged['a-free'], tagged['a-gold']]);
    expect(done.items.every((item) => item.finishedAt !== undefined)).toBe(true);
    expect(ids(await search('?state=queued&label=customer:c1'))).toEqual([]);
    expect((await api.request('GET', `/v1/tasks/${tagged['a-gold']}`, as(acme))).body.labels).toEqual({ customer: 'c1', tier: 'gold' });
    await worker.stop();
  });

  it('pages through 10 000 tasks while they complete: none twice, none missing', async () => {
    const submitted = new Set<string>();
    for (let batch = 0; batch < 10; batch += 1) {
      const tasks = Array.from({ length: 1000 }, (_, at) => ({ role: 'echo', payload: { message: String(batch * 1000 + at) }, metadata: { labels: { run: 'churn' } } }));
      const response = await api.request('POST', '/v1/tasks/batch', { ...as(writer), body: { tasks } });
      expect(response.status, response.text).toBe(202);
      for (const task of response.body.tasks as { id: string }[]) submitted.add(task.id);
    }
    const seen: string[] = [];
    const states = new Set<string>();
    let page = await search('?label=run:churn&limit=100');
    // Every task is queued at the first page; then a worker completes them, oldest first, as the pages go.
    expect(page.items.every((item) => item.state === 'queued')).toBe(true);
    const restarted = new WorkerProcess(env);
    const before = (await roleCounts(api, 'echo')).completed!;
    try {
      await restarted.start();
      await waitFor('tasks to complete while the pages are read', async () => (await roleCounts(api, 'echo')).completed! >= before + 10);
      for (;;) {
        seen.push(...ids(page));
        page.items.forEach((item) => states.add(item.state));
        if (!page.nextCursor) break;
        page = await search(`?label=run:churn&limit=100&cursor=${page.nextCursor}`);
      }
      expect(states).toContain('completed');
      expect(states).toContain('queued');
      expect(seen.length).toBe(new Set(seen).size);
      expect(new Set(seen)).toEqual(submitted);
    } finally {
      await restarted.stop();
    }
  });

  it('refuses a bad query with a clear 400 (or 404 for an unknown role), and needs tasks:read', async () => {
    expectError(await api.request('GET', '/v1/tasks?cursor=not-a-cursor', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?limit=1000', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?state=sleeping', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?label=no-colon', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', `/v1/tasks?${Array.from({ length: 9 }, (_, at) => `label=k${at}:v`).join('&')}`, as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?createdAfter=yesterday', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?createdAfter=2026-01-02T00:00:00Z&createdBefore=2026-01-01T00:00:00Z', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?payload=x', as(ops)), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/tasks?role=nope', as(ops)), 404, 'UNKNOWN_ROLE');
    expectError(await api.request('GET', '/v1/tasks', as(writer)), 403, 'FORBIDDEN');
    expect((await api.request('GET', '/v1/tasks?label=tier:gold&label=tier:free', as(ops))).body).toEqual({ items: [], nextCursor: null });
  });

  it('is in the OpenAPI document', async () => {
    const document = (await api.request('GET', '/docs/json', { auth: false })).body;
    const operation = document.paths['/v1/tasks'].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['role', 'state', 'correlationId', 'label', 'createdAfter', 'createdBefore', 'tenant', 'limit', 'cursor']),
    );
    expect(Object.keys(operation.responses)).toContain('200');
  });
});
