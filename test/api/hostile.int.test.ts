import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { expectError, totalJobs } from './helpers';

// The API runs in this process, so a polluted prototype would show up right here.
const env = testEnv();
const api = new ApiServer(env);

beforeAll(async () => {
  await api.start();
});

afterAll(async () => {
  await api.stop();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

afterEach(async () => {
  // Whatever the last input was, the API still serves the next request.
  expect((await api.request('GET', '/health/live', { auth: false })).status).toBe(200);
  expect((await api.request('GET', '/v1/roles')).status).toBe(200);
});

function polluted(): unknown[] {
  const probe = {} as Record<string, unknown>;
  return [probe['polluted'], (Object.prototype as Record<string, unknown>)['polluted'], (Array.prototype as unknown as Record<string, unknown>)['polluted']];
}

describe('prototype pollution attempts', () => {
  const bodies: [string, string][] = [
    ['__proto__ in the payload', '{"role":"echo","payload":{"__proto__":{"polluted":true}}}'],
    ['__proto__ at the top level', '{"role":"echo","payload":{},"__proto__":{"polluted":true}}'],
    ['__proto__ in the labels', '{"role":"echo","payload":{},"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}'],
    ['__proto__ spelled with unicode escapes', '{"role":"echo","payload":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}}'],
    ['constructor.prototype in the payload', '{"role":"echo","payload":{"constructor":{"prototype":{"polluted":true}}}}'],
    ['constructor.prototype in a batch item', '{"tasks":[{"role":"echo","payload":{}},{"role":"echo","payload":{"constructor":{"prototype":{"polluted":true}}}}]}'],
  ];

  it.each(bodies)('%s is refused with 400 and pollutes nothing', async (_what, body) => {
    const before = await totalJobs(api);
    const path = body.startsWith('{"tasks"') ? '/v1/tasks/batch' : '/v1/tasks';
    const response = await api.request('POST', path, { body });
    expect(response.status).toBe(400);
    expectError(response, 400, response.body.error.code);
    expect(['INVALID_JSON', 'VALIDATION_FAILED']).toContain(response.body.error.code);
    expect(polluted()).toEqual([undefined, undefined, undefined]);
    expect(await totalJobs(api)).toBe(before);
  });
});

describe('deeply nested input', () => {
  it('100 000 nested arrays in the payload → 400 with a clear message', async () => {
    const depth = 100_000;
    const body = `{"role":"echo","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const response = await api.request('POST', '/v1/tasks', { body });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.message).toMatch(/nested deeper than \d+ levels/);
    expect(JSON.stringify(error.details)).toContain('payload');
  });

  it('100 000 nested arrays as the whole body → 400', async () => {
    const depth = 100_000;
    const response = await api.request('POST', '/v1/tasks', { body: `${'['.repeat(depth)}${']'.repeat(depth)}` });
    expect(response.status).toBe(400);
    expect(['INVALID_JSON', 'VALIDATION_FAILED']).toContain(expectError(response, 400, response.body.error.code).code);
  });

  it('70 levels of objects in the payload → 400 naming the limit', async () => {
    let payload: unknown = { message: 'bottom' };
    for (let level = 0; level < 70; level++) payload = { inner: payload };
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.message).toContain('nested deeper than 64 levels');
  });

  it('deep nesting inside one batch item → 400 naming its index', async () => {
    let payload: unknown = 1;
    for (let level = 0; level < 70; level++) payload = [payload];
    const response = await api.request('POST', '/v1/tasks/batch', {
      body: { tasks: [{ role: 'echo', payload: {} }, { role: 'echo', payload: {} }, { role: 'echo', payload }] },
    });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ index: 2, field: 'tasks.2.payload' })]);
  });

  it('deep nesting where the schema wants a string (metadata.labels) → 400', async () => {
    const depth = 10_000;
    const body = `{"role":"echo","payload":{},"metadata":{"labels":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
    expectError(await api.request('POST', '/v1/tasks', { body }), 400, 'VALIDATION_FAILED');
  });
});

describe('huge strings within the body limit', () => {
  it('an echo message over its 100 000 character maximum → 400, and the answer does not echo it back', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'm'.repeat(100_001) } } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ field: 'payload.message' })]);
    expect(response.text.length).toBeLessThan(5_000);
  });

  it('a message of exactly 100 000 characters is accepted', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'm'.repeat(100_000) } } });
    expect(response.status).toBe(202);
  });

  it('a 900 000 character role name, correlation id or label value → 400, and the value is not echoed back', async () => {
    const huge = 'a'.repeat(900_000);
    const bodies = [
      { role: huge, payload: {} },
      { role: 'echo', payload: {}, metadata: { correlationId: huge } },
      { role: 'echo', payload: {}, metadata: { labels: { key: huge } } },
    ];
    for (const body of bodies) {
      const response = await api.request('POST', '/v1/tasks', { body });
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.text.length).toBeLessThan(5_000);
    }
  });

  it('a 900 000 character label name → 400 (the field path names it, so it is not checked for echo)', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, metadata: { labels: { ['k'.repeat(900_000)]: 'x' } } } });
    expectError(response, 400, 'VALIDATION_FAILED');
  });

  it('out-of-range and fractional numbers (1e400, 2^60, 0.5) are refused where integers are expected', async () => {
    for (const sleepMs of ['1e400', '-1e400', '1152921504606846976', '0.5']) {
      const response = await api.request('POST', '/v1/tasks', { body: `{"role":"echo","payload":{"sleepMs":${sleepMs}}}` });
      expectError(response, 400, 'VALIDATION_FAILED');
    }
  });
});
