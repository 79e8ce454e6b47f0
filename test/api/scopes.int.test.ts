import { describe, expect, it } from 'vitest';
import { UNAUTHORIZED_MESSAGE } from '../../apps/api/src/plugins/auth';
import { usePlatform } from '../support/platform';
import { bearer, key, KeyFile } from '../support/key-file';
import { expectError } from './helpers';

const keys = {
  submit: key('submit', ['tasks:submit']),
  submitEcho: key('submit-echo', ['tasks:submit:echo']),
  read: key('read', ['tasks:read']),
  cancel: key('cancel', ['tasks:cancel']),
  deadLetters: key('dead-letters', ['dead-letters:manage']),
  schedules: key('schedules', ['schedules:manage']),
  dashboard: key('dashboard', ['dashboard:read']),
  admin: key('root', ['admin']),
};
type Holder = keyof typeof keys;
const expired = key('expired', ['admin'], { expiresAt: '2020-01-01T00:00:00Z' });
const file = new KeyFile([...Object.values(keys), expired]);
const unknownTask = `echo_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;
const unknownWorkflow = `wf_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`;

interface Route {
  name: string;
  /** Who may call it (admin always may). */
  allowed: Holder[];
  /** What an allowed key gets. */
  status: number;
  call: (headers: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers }>;
}

describe('scopes: every route, every scope', () => {
  // No workers: what is checked here is who gets in, not what runs (tasks are delayed, for cancelling).
  const { api } = usePlatform({ API_KEYS_FILE: file.path, ROLE_ECHO_TOPICS: 'greeting', AUTH_FAILURES_PER_MINUTE: '0' }, { workers: 0 });
  const delayed = () => api.submit('echo', {}, { options: { delayMs: 600_000 } });
  const request = (method: string, path: string, body?: unknown) => (headers: Record<string, string>) =>
    api.request(method, path, { auth: false, headers, ...(body === undefined ? {} : { body }) });

  const routes: Route[] = [
    { name: 'POST /v1/tasks (echo)', allowed: ['submit', 'submitEcho'], status: 202, call: request('POST', '/v1/tasks', { role: 'echo', payload: {} }) },
    { name: 'POST /v1/tasks (docs.ingest)', allowed: ['submit'], status: 202, call: request('POST', '/v1/tasks', { role: 'docs.ingest', payload: { title: 't', text: 'x' } }) },
    { name: 'POST /v1/tasks/batch', allowed: ['submit', 'submitEcho'], status: 202, call: request('POST', '/v1/tasks/batch', { tasks: [{ role: 'echo', payload: {} }] }) },
    { name: 'POST /v1/topics/:topic', allowed: ['submit', 'submitEcho'], status: 202, call: request('POST', '/v1/topics/greeting', { payload: {} }) },
    { name: 'GET /v1/tasks', allowed: ['read'], status: 200, call: request('GET', '/v1/tasks?role=echo&limit=5') },
    // (The streams' allowed answers are their 404s: a stream that opens would not end here.)
    { name: 'GET /v1/tasks/:id/events', allowed: ['read'], status: 404, call: request('GET', `/v1/tasks/${unknownTask}/events`) },
    { name: 'GET /v1/events', allowed: ['read'], status: 404, call: request('GET', '/v1/events?role=nope') },
    { name: 'GET /v1/tasks/:id', allowed: ['read'], status: 200, call: async (headers) => request('GET', `/v1/tasks/${await delayed()}`)(headers) },
    { name: 'DELETE /v1/tasks/:id', allowed: ['cancel'], status: 200, call: async (headers) => request('DELETE', `/v1/tasks/${await delayed()}`)(headers) },
    { name: 'POST /v1/workflows (echo)', allowed: ['submit', 'submitEcho'], status: 202, call: request('POST', '/v1/workflows', { root: { role: 'echo', payload: {}, children: [{ role: 'echo', payload: {} }] } }) },
    { name: 'POST /v1/workflows (docs.ingest)', allowed: ['submit'], status: 202, call: request('POST', '/v1/workflows', { root: { role: 'docs.ingest', payload: { title: 't', text: 'x' } } }) },
    { name: 'GET /v1/workflows/:id', allowed: ['read'], status: 404, call: request('GET', `/v1/workflows/${unknownWorkflow}`) },
    { name: 'DELETE /v1/workflows/:id', allowed: ['cancel'], status: 404, call: request('DELETE', `/v1/workflows/${unknownWorkflow}`) },
    // Upserting also needs the role's submit scope, which only admin has of these keys.
    { name: 'POST /v1/schedules', allowed: [], status: 201, call: request('POST', '/v1/schedules', { id: 'scoped', role: 'echo', payload: {}, every: 3_600_000 }) },
    { name: 'GET /v1/schedules', allowed: ['schedules'], status: 200, call: request('GET', '/v1/schedules') },
    { name: 'GET /v1/schedules/:id', allowed: ['schedules'], status: 404, call: request('GET', '/v1/schedules/unknown') },
    { name: 'DELETE /v1/schedules/:id', allowed: ['schedules'], status: 404, call: request('DELETE', '/v1/schedules/unknown') },
    { name: 'GET /v1/roles', allowed: ['read'], status: 200, call: request('GET', '/v1/roles') },
    { name: 'GET /v1/workers', allowed: ['dashboard'], status: 200, call: request('GET', '/v1/workers') },
    { name: 'POST /v1/broadcasts', allowed: [], status: 202, call: request('POST', '/v1/broadcasts', { type: 'resume-role', payload: { role: 'echo' } }) },
    { name: 'GET /v1/broadcasts', allowed: [], status: 200, call: request('GET', '/v1/broadcasts') },
    { name: 'GET /v1/broadcasts/:id', allowed: [], status: 404, call: request('GET', '/v1/broadcasts/bc_00000000-0000-4000-8000-000000000000') },
    { name: 'GET /v1/documents/:id', allowed: ['read'], status: 404, call: request('GET', `/v1/documents/${unknownTask}`) },
    { name: 'GET /v1/dead-letters', allowed: ['deadLetters'], status: 200, call: request('GET', '/v1/dead-letters') },
    { name: 'GET /v1/dead-letters/:id', allowed: ['deadLetters'], status: 404, call: request('GET', `/v1/dead-letters/${unknownTask}`) },
    { name: 'POST /v1/dead-letters/:id/replay', allowed: ['deadLetters'], status: 404, call: request('POST', `/v1/dead-letters/${unknownTask}/replay`) },
    { name: 'POST /v1/dead-letters/replay', allowed: ['deadLetters'], status: 202, call: request('POST', '/v1/dead-letters/replay', { role: 'echo' }) },
    { name: 'DELETE /v1/dead-letters/:id', allowed: ['deadLetters'], status: 404, call: request('DELETE', `/v1/dead-letters/${unknownTask}`) },
    { name: 'GET /admin/queues (page)', allowed: ['dashboard'], status: 200, call: request('GET', '/admin/queues') },
    { name: 'GET /admin/queues/api/queues', allowed: ['dashboard'], status: 200, call: request('GET', '/admin/queues/api/queues?activeQueue=echo&status=latest&page=1') },
    { name: 'GET /admin/queues/api/redis/stats', allowed: [], status: 200, call: request('GET', '/admin/queues/api/redis/stats') },
    { name: 'PUT /admin/queues/api/queues/echo/resume', allowed: [], status: 200, call: request('PUT', '/admin/queues/api/queues/echo/resume') },
  ];

  it('answers each key on each route as its scopes say: the allowed status, or 403 naming the scope needed', async () => {
    const table: string[] = [];
    for (const route of routes) {
      for (const [holder, entry] of Object.entries(keys) as [Holder, (typeof keys)[Holder]][]) {
        const allowed = holder === 'admin' || route.allowed.includes(holder);
        const response = await route.call(bearer(entry));
        const expected = allowed ? route.status : 403;
        if (response.status !== expected) table.push(`${route.name} as ${holder}: ${response.status}, expected ${expected} ${JSON.stringify(response.body)}`);
        if (!allowed && response.status === 403) {
          const error = expectError(response, 403, 'FORBIDDEN');
          expect(error.message).toMatch(/lacks the scope "[a-z:.-]+"|bound to a tenant/);
          // It names what is missing, never another key.
          for (const other of Object.values(keys)) if (other !== entry) expect(JSON.stringify(error)).not.toContain(`"${other.id}"`);
        }
      }
    }
    expect(table).toEqual([]);
  });

  it('answers a missing, malformed, unknown or expired key with one uniform 401 on every route', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Token abc' },
      { authorization: 'Bearer not-a-key-0123456789abcdef' },
      bearer(expired),
      { authorization: `Basic ${Buffer.from(`root:${keys.read.secret}`).toString('base64')}` },
    ];
    for (const route of routes) {
      for (const headers of attempts) {
        const response = await route.call(headers);
        const error = expectError(response, 401, 'UNAUTHORIZED');
        expect({ route: route.name, message: error.message, details: error.details }).toEqual({ route: route.name, message: UNAUTHORIZED_MESSAGE, details: undefined });
      }
    }
  });

  it('the board takes Basic credentials (key id and secret) for its pages', async () => {
    const basic = (entry: { id: string; secret: string }) => ({ authorization: `Basic ${Buffer.from(`${entry.id}:${entry.secret}`).toString('base64')}` });
    expect((await api.request('GET', '/admin/queues/api/queues', { auth: false, headers: basic(keys.dashboard) })).status).toBe(200);
    expect((await api.request('GET', '/admin/queues/api/queues', { auth: false, headers: basic(keys.read) })).status).toBe(403);
  });
});
