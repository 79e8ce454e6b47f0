import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { bearer, key, KeyFile } from '../support/key-file';
import { expectError, waitForState } from './helpers';
import { waitFor } from '../support/wait-for';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/dead-letters.cjs');
const scopes = ['tasks:submit', 'tasks:read', 'tasks:cancel', 'dead-letters:manage', 'dashboard:read'];
const acme = key('acme-key', scopes, { tenant: 'acme' });
const globex = key('globex-key', scopes, { tenant: 'globex' });
const ops = key('ops', ['admin']);
const file = new KeyFile([acme, globex, ops]);
const unknownId = (role: string) => `${role}_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;

describe('tenants: a tenant key sees its own tenant only; operator keys see every tenant', () => {
  const { api } = usePlatform({ API_KEYS_FILE: file.path, ROLE_MODULES, ROLES: 'echo,dl-broken,docs.ingest,docs.analyze,docs.store' });
  const as = (entry: { secret: string }) => ({ auth: false, headers: bearer(entry) });
  const submitAs = async (entry: { secret: string }, body: Record<string, unknown>) => {
    const response = await api.request('POST', '/v1/tasks', { ...as(entry), body });
    expect(response.status, response.text).toBe(202);
    return response.body.id as string;
  };

  it('stamps the key’s tenant and owner on its tasks; another tenant’s task answers 404 exactly like an unknown id', async () => {
    const id = await submitAs(acme, { role: 'echo', payload: { message: 'hi' } });
    const view = await waitForState(api, id, 'completed');
    expect(view).toMatchObject({ owner: 'acme-key', tenant: 'acme' });
    expect((await api.request('GET', `/v1/tasks/${id}`, as(acme))).status).toBe(200);
    expect((await api.request('GET', `/v1/tasks/${id}`, as(ops))).body).toMatchObject({ tenant: 'acme' });
    const theirs = await api.request('GET', `/v1/tasks/${id}`, as(globex));
    const unknown = await api.request('GET', `/v1/tasks/${unknownId('echo')}`, as(globex));
    expectError(theirs, 404, 'NOT_FOUND');
    expect(theirs.body.error.message.replace(id, '<id>')).toBe(unknown.body.error.message.replace(unknownId('echo'), '<id>'));
  });

  it('refuses a tenant key naming another tenant (403); an operator key may submit for any tenant', async () => {
    const refused = await api.request('POST', '/v1/tasks', { ...as(acme), body: { role: 'echo', payload: {}, metadata: { tenant: 'globex' } } });
    expect(expectError(refused, 403, 'FORBIDDEN').details).toEqual({ field: 'metadata.tenant' });
    const batch = await api.request('POST', '/v1/tasks/batch', { ...as(acme), body: { tasks: [{ role: 'echo', payload: {} }, { role: 'echo', payload: {}, metadata: { tenant: 'globex' } }] } });
    expect(expectError(batch, 403, 'FORBIDDEN').details).toMatchObject({ index: 1, field: 'tasks.1.metadata.tenant' });
    const forGlobex = await submitAs(ops, { role: 'echo', payload: {}, metadata: { tenant: 'globex' } });
    expect((await api.request('GET', `/v1/tasks/${forGlobex}`, as(globex))).body).toMatchObject({ tenant: 'globex', owner: 'ops' });
    expect((await api.request('GET', `/v1/tasks/${forGlobex}`, as(acme))).status).toBe(404);
  });

  it('lets only its own tenant cancel a task', async () => {
    const id = await submitAs(acme, { role: 'echo', payload: {}, options: { delayMs: 600_000 } });
    expectError(await api.request('DELETE', `/v1/tasks/${id}`, as(globex)), 404, 'NOT_FOUND');
    expect((await api.request('GET', `/v1/tasks/${id}`, as(acme))).body.state).toBe('delayed');
    expect((await api.request('DELETE', `/v1/tasks/${id}`, as(acme))).body).toMatchObject({ state: 'cancelled', tenant: 'acme' });
  });

  it('keeps dead letters to their tenant: list, read, replay, bulk replay and delete', async () => {
    const mine = await submitAs(acme, { role: 'dl-broken', payload: { n: 1 } });
    const theirs = await submitAs(globex, { role: 'dl-broken', payload: { n: 2 } });
    await Promise.all([waitForState(api, mine, 'failed'), waitForState(api, theirs, 'failed')]);
    await waitFor('both dead letters', async () => (await api.request('GET', '/v1/dead-letters?role=dl-broken', as(ops))).body.items.length >= 2);

    const listed = (entry: { secret: string }) => api.request('GET', '/v1/dead-letters?role=dl-broken', as(entry)).then((response) => response.body.items.map((item: { id: string }) => item.id));
    expect(await listed(acme)).toEqual([mine]);
    expect(await listed(globex)).toEqual([theirs]);
    expect(await listed(ops)).toEqual(expect.arrayContaining([mine, theirs]));
    expect((await api.request('GET', `/v1/dead-letters/${mine}`, as(acme))).body).toMatchObject({ id: mine, tenant: 'acme', owner: 'acme-key' });
    expectError(await api.request('GET', `/v1/dead-letters/${mine}`, as(globex)), 404, 'NOT_FOUND');
    expectError(await api.request('POST', `/v1/dead-letters/${mine}/replay`, as(globex)), 404, 'NOT_FOUND');
    expectError(await api.request('DELETE', `/v1/dead-letters/${mine}`, as(globex)), 404, 'NOT_FOUND');

    // Bulk replay: named ids of another tenant are not found; without ids, only the caller's own letters go.
    const named = await api.request('POST', '/v1/dead-letters/replay', { ...as(globex), body: { role: 'dl-broken', ids: [mine] } });
    expect(named.body).toMatchObject({ replayed: [], notFound: [mine] });
    const bulk = await api.request('POST', '/v1/dead-letters/replay', { ...as(globex), body: { role: 'dl-broken' } });
    expect(bulk.status).toBe(202);
    expect(bulk.body.replayed.map((entry: { deadLetterId: string }) => entry.deadLetterId)).toEqual([theirs]);
    const replayed = bulk.body.replayed[0].id as string;
    expect((await api.request('GET', `/v1/tasks/${replayed}`, as(globex))).body).toMatchObject({ tenant: 'globex', owner: 'globex-key', causationId: theirs });
    expect((await api.request('GET', `/v1/dead-letters/${mine}`, as(acme))).status).toBe(200);
    expect((await api.request('DELETE', `/v1/dead-letters/${mine}`, as(acme))).status).toBe(204);
  });

  it('keeps documents to their tenant', async () => {
    const id = await submitAs(acme, { role: 'docs.ingest', payload: { title: 'Notes', text: 'One sentence. Another one.' } });
    await waitFor('the document', async () => (await api.request('GET', `/v1/documents/${id}`, as(acme))).body?.status === 'completed');
    expectError(await api.request('GET', `/v1/documents/${id}`, as(globex)), 404, 'NOT_FOUND');
    expect((await api.request('GET', `/v1/documents/${id}`, as(ops))).status).toBe(200);
  });

  it('gives a tenant key no dashboard: its pages show every tenant’s jobs', async () => {
    const page = await api.request('GET', '/admin/queues/api/queues', as(acme));
    expect(expectError(page, 403, 'FORBIDDEN').message).toMatch(/bound to a tenant/);
    expect((await api.request('GET', '/admin/queues/api/queues', as(ops))).status).toBe(200);
  });
});
