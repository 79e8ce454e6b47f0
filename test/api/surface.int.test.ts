import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { TEST_API_KEY } from '../support/test-env';
import { expectError } from './helpers';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

describe('the hardened surface', () => {
  const { api, worker } = usePlatform({ METRICS_TOKEN, DOCS_ENABLED: 'false', AUTH_FAILURES_PER_MINUTE: '3' });

  it('sends security headers everywhere and no-store on the API and the board', async () => {
    for (const path of ['/v1/roles', '/admin/queues', '/admin/queues/static/favicon-32x32.png', '/health/live', '/v1/no-such-route']) {
      const response = await api.request('GET', path, path.startsWith('/admin') ? { auth: false, headers: basic(TEST_API_KEY.id, TEST_API_KEY.secret) } : {});
      expect(response.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      // JSON answers render nothing; the pages may run their own scripts only.
      expect(response.headers.get('content-security-policy'), path).toContain(path.startsWith('/v1') ? "default-src 'none'" : "script-src 'self'");
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      // The board's static files too: their own Cache-Control (public) would let a shared cache keep an authenticated answer.
      if (path !== '/health/live') expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('serves /metrics (API and workers) only with METRICS_TOKEN, and no /docs when DOCS_ENABLED=false', async () => {
    expectError(await api.request('GET', '/metrics', { auth: false }), 401, 'UNAUTHORIZED');
    expect((await api.request('GET', '/metrics', { auth: false, headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await api.request('GET', '/metrics', { auth: false, headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text).toContain('taskyard_http_requests_total');
    const workerMetrics = `http://127.0.0.1:${worker.metricsPort}/metrics`;
    expect((await fetch(workerMetrics)).status).toBe(401);
    expect(await (await fetch(workerMetrics, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).toContain('taskyard_tasks_processed_total');
    expect((await worker.health('/health/live'))).toBe(200);
    expect((await api.request('GET', '/docs', { auth: false })).status).toBe(404);
    expect((await api.request('GET', '/docs/json', { auth: false })).status).toBe(404);
  });

  // Last: it blocks this test's address for a minute.
  it('refuses an address after repeated failed authentications, before looking its key up, on /v1 and the board alike', async () => {
    const wrong = { auth: false, headers: { authorization: 'Bearer guess-0123456789abcdef' } };
    expectError(await api.request('GET', '/v1/roles', wrong), 401, 'UNAUTHORIZED');
    expectError(await api.request('GET', '/admin/queues', { auth: false, headers: basic(TEST_API_KEY.id, 'guess-0123456789abcdef') }), 401, 'UNAUTHORIZED');
    expectError(await api.request('GET', '/v1/roles', wrong), 401, 'UNAUTHORIZED');
    // The limit is reached: even the right key is refused now, and told when to come back.
    const throttled = await api.request('GET', '/v1/roles');
    expectError(throttled, 429, 'RATE_LIMITED');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expectError(await api.request('GET', '/admin/queues', { auth: false, headers: basic(TEST_API_KEY.id, TEST_API_KEY.secret) }), 429, 'RATE_LIMITED');
    const audit = api.logs.filter((line) => line['event'] === 'auth.refused').map((line) => line['reason']);
    expect(audit).toEqual(expect.arrayContaining(['unknown', 'throttled']));
  });
});
