import { builtInRoles as roleRegistry } from '@taskyard/example-roles';
import { describe, expect, it } from 'vitest';
import { TEST_API_KEY, TEST_SIGNING_KEY } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { usePlatform } from '../support/platform';
import { metricValue, roleCounts, waitForState } from './helpers';

const { env, api, worker } = usePlatform();

describe('GET /v1/roles', () => {
  it('lists every role with its settings and live queue counts', async () => {
    const response = await api.request('GET', '/v1/roles');
    expect(response.status).toBe(200);
    const roles = response.body.roles as any[];
    expect(roles.map((role) => role.name).sort()).toEqual([...roleRegistry.names()].sort());
    for (const role of roles) {
      expect(role).toMatchObject({
        name: expect.any(String),
        description: expect.any(String),
        queue: `${env['QUEUE_PREFIX']}{${role.name.split('.')[0]}}:${role.name}`,
        concurrency: expect.any(Number),
        attempts: expect.any(Number),
        backoff: expect.objectContaining({ delayMs: expect.any(Number) }),
        timeoutMs: expect.any(Number),
        counts: { queued: expect.any(Number), delayed: expect.any(Number), active: expect.any(Number), completed: expect.any(Number), failed: expect.any(Number) },
      });
    }
    expect(roles.find((role) => role.name === 'echo')).toMatchObject({ concurrency: 50, attempts: 3, backoff: { type: 'exponential', delayMs: 200 } });
  });

  it('counts move as tasks are submitted and finish', async () => {
    const before = await roleCounts(api, 'echo');
    await api.submit('echo', { message: 'parked' }, { options: { delayMs: 600_000 } });
    const done = await api.submit('echo', { message: 'quick' });
    await waitForState(api, done, 'completed');
    const after = await roleCounts(api, 'echo');
    expect(after.delayed).toBe(before.delayed! + 1);
    expect(after.completed).toBe(before.completed! + 1);
  });
});

describe('metrics', () => {
  it('GET /metrics needs no key and exposes queue depths per role and state, and HTTP request counts', async () => {
    await api.submit('echo', { message: 'parked for the gauge' }, { options: { delayMs: 600_000 } });
    const response = await api.request('GET', '/metrics', { auth: false });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const delayed = (await roleCounts(api, 'echo')).delayed;
    expect(metricValue(response.text, 'taskyard_queue_jobs', { role: 'echo', state: 'delayed' })).toBe(delayed);
    for (const role of roleRegistry.names()) {
      for (const state of ['queued', 'delayed', 'active', 'completed', 'failed']) {
        expect(metricValue(response.text, 'taskyard_queue_jobs', { role, state }), `${role}/${state}`).toBeDefined();
      }
    }
    expect(metricValue(response.text, 'taskyard_http_requests_total', { method: 'POST', route: '/v1/tasks', status_code: '202' })).toBeGreaterThanOrEqual(1);
    expect(response.text).toContain('taskyard_http_request_duration_seconds_bucket');
  });

  it('counts refused requests too, by status', async () => {
    await api.request('GET', '/v1/roles', { auth: false });
    const text = (await api.request('GET', '/metrics', { auth: false })).text;
    expect(metricValue(text, 'taskyard_http_requests_total', { method: 'GET', route: '/v1/roles', status_code: '401' })).toBeGreaterThanOrEqual(1);
  });

  it('the worker exposes task durations and outcomes labelled by role', async () => {
    const id = await api.submit('echo', { message: 'timed' });
    await waitForState(api, id, 'completed');
    const text = await worker.metrics();
    expect(metricValue(text, 'taskyard_task_duration_seconds_count', { role: 'echo' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'taskyard_task_duration_seconds_bucket', { role: 'echo', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'taskyard_tasks_processed_total', { role: 'echo', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'taskyard_tasks_active', { role: 'echo' })).toBeDefined();
    // Every task series carries a role label.
    for (const line of text.split('\n').filter((entry) => /^taskyard_task/.test(entry))) expect(line).toMatch(/role="/);
  });
});

describe('docs and health', () => {
  it('GET /docs/json is an OpenAPI 3 document with the task paths', async () => {
    const response = await api.request('GET', '/docs/json', { auth: false });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v1/tasks', '/v1/tasks/batch', '/v1/tasks/{id}', '/v1/roles']));
    expect(response.body.paths['/v1/tasks'].post.requestBody).toBeDefined();
    expect(Object.keys(response.body.paths['/v1/tasks'].post.responses)).toEqual(expect.arrayContaining(['202', '400', '401']));
  });

  it("GET /docs/json shows each role's payload schema: the submit body is a union on role", async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    const body = doc.paths['/v1/tasks'].post.requestBody.content['application/json'].schema;
    const variants = (body.oneOf ?? body.anyOf) as { properties: { role: { enum?: string[]; const?: string }; payload: any } }[];
    const byRole = new Map(variants.map((variant) => [variant.properties.role.const ?? variant.properties.role.enum?.[0], variant.properties.payload]));
    expect([...byRole.keys()].sort()).toEqual([...roleRegistry.names()].sort());
    expect(byRole.get('echo')).toMatchObject({ type: 'object', properties: { message: { type: 'string' }, sleepMs: { type: 'integer', maximum: 60000 }, failTimes: { type: 'integer' } } });
    expect(byRole.get('docs.ingest')).toMatchObject({ required: expect.arrayContaining(['title', 'text']) });
    // The batch takes a list of the same.
    const batch = doc.paths['/v1/tasks/batch'].post.requestBody.content['application/json'].schema;
    expect(batch.properties.tasks).toMatchObject({ type: 'array', maxItems: 1000 });
    expect(batch.properties.tasks.items.oneOf ?? batch.properties.tasks.items.anyOf).toHaveLength(variants.length);
  });

  it('GET /docs serves the Swagger UI page', async () => {
    const response = await api.request('GET', '/docs', { auth: false });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.text.toLowerCase()).toContain('<html');
    expect(response.text).toMatch(/swagger/i);
  });

  it('/health/live and /health/ready answer 200 without a key', async () => {
    const live = await api.request('GET', '/health/live', { auth: false });
    expect(live).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await api.request('GET', '/health/ready', { auth: false });
    expect(ready).toMatchObject({ status: 200, body: { status: 'ok', checks: { redis: 'ok' } } });
  });
});

describe('worker logs', () => {
  it('every line about a failing task carries its task id, role and correlation id', async () => {
    const id = await api.submit('echo', { failTimes: 5 }, { options: { attempts: 2 }, metadata: { correlationId: 'obs-corr-7' } });
    await waitForState(api, id, 'failed');
    await worker.waitForLog('the final failure line', (line) => line['taskId'] === id && line.msg === 'task failed');

    const lines = worker.logs.filter((line) => line['taskId'] === id);
    expect(lines.map((line) => line.msg)).toEqual(['attempt failed, will retry', 'task failed']);
    for (const line of lines) {
      expect(line).toMatchObject({ taskId: id, role: 'echo', correlationId: 'obs-corr-7', level: expect.stringMatching(/warn|error/) });
      expect(line['err']).toMatchObject({ message: expect.stringContaining('planned failure') });
    }
    // And no line mentions the task without its context.
    const mentions = worker.logs.filter((line) => JSON.stringify(line).includes(id));
    expect(mentions).toHaveLength(lines.length);
  });

  it('never contain the API key or signing key secrets', async () => {
    // Give the worker something to log about first: a retried and a completed task.
    await waitForState(api, await api.submit('echo', { failTimes: 1 }), 'completed');
    await waitFor('some worker log lines', () => worker.logs.length >= 3);
    const everything = JSON.stringify(worker.logs) + worker.stderr.join('\n');
    expect(everything).not.toContain(TEST_API_KEY.secret);
    expect(everything).not.toContain(TEST_SIGNING_KEY.secret);
    expect(JSON.stringify(api.logs)).not.toContain(TEST_API_KEY.secret);
  });
});
