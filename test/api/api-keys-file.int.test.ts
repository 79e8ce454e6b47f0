import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { bearer, key, KeyFile } from '../support/key-file';
import { waitFor } from '../support/wait-for';
import { expectError, metricValue } from './helpers';

const keysFileOk = async (api: { request: (method: string, path: string) => Promise<{ text: string }> }) =>
  metricValue((await api.request('GET', '/metrics')).text, 'taskyard_api_keys_file_ok');

const first = key('first', ['tasks:read']);
const second = key('second', ['tasks:read']);
const soon = key('soon', ['tasks:read']);
const file = new KeyFile([first]);

describe('API_KEYS_FILE: keys change without a restart', () => {
  const { api } = usePlatform({ API_KEYS_FILE: file.path, AUTH_FAILURES_PER_MINUTE: '0' }, { workers: 0 });
  const status = (entry: { secret: string }) => api.request('GET', '/v1/roles', { auth: false, headers: bearer(entry) }).then((response) => response.status);
  const logged = (what: (line: Record<string, unknown>) => boolean) => api.logs.some(what);

  it('adds a key, revokes one, and keeps the keys in force when an edit is bad', async () => {
    expect(await status(first)).toBe(200);
    expect(await status(second)).toBe(401);

    file.write([first, second]);
    await waitFor('the added key to be accepted', async () => (await status(second)) === 200);
    expect(logged((line) => line['audit'] === true && line['action'] === 'api-keys.reload')).toBe(true);

    file.write([second]);
    await waitFor('the removed key to be refused', async () => (await status(first)) === 401);
    expect(await status(second)).toBe(200);

    file.write('[{ "id": "broken", "scopes": [] }]');
    await waitFor('the bad edit to be reported', () => logged((line) => line['msg'] === 'API_KEYS_FILE has problems: the keys in force are kept'));
    const report = api.logs.find((line) => line['msg'] === 'API_KEYS_FILE has problems: the keys in force are kept')!;
    expect(report['problems']).toEqual(expect.arrayContaining([expect.stringMatching(/^entry 0 \("broken"\): /)]));
    expect(await status(second)).toBe(200);
    // An operator can see that the file on disk is not the one in force.
    expect(await keysFileOk(api)).toBe(0);
    file.write([second]);
    await waitFor('the file to be in force again', async () => (await keysFileOk(api)) === 1);
    // The development key of API_KEYS stays through every reload.
    expect((await api.request('GET', '/v1/roles')).status).toBe(200);
  });

  it('refuses a key once its expiresAt passes, with the same 401 as an unknown key, and counts refusals by reason', async () => {
    file.write([second, { ...soon, expiresAt: new Date(Date.now() + 1500).toISOString() }]);
    await waitFor('the key to be accepted', async () => (await status(soon)) === 200);
    await waitFor('the key to expire', async () => (await status(soon)) === 401, { timeoutMs: 10_000 });
    const expired = await api.request('GET', '/v1/roles', { auth: false, headers: bearer(soon) });
    const unknown = await api.request('GET', '/v1/roles', { auth: false, headers: { authorization: 'Bearer nobody-0123456789abcdef' } });
    expect(expectError(expired, 401, 'UNAUTHORIZED')).toEqual(expectError(unknown, 401, 'UNAUTHORIZED'));
    const metrics = (await api.request('GET', '/metrics')).text;
    expect(metricValue(metrics, 'taskyard_auth_refusals_total', { reason: 'expired' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'taskyard_auth_refusals_total', { reason: 'unknown' })).toBeGreaterThanOrEqual(1);
    expect(metrics).not.toMatch(/taskyard_auth_refusals_total\{[^}]*key/);
    const audit = api.logs.filter((line) => line['event'] === 'auth.refused');
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ audit: true, reason: 'expired', url: '/v1/roles' })]));
  });
});
