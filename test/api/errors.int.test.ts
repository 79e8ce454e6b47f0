import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, TEST_API_KEY, testEnv } from '../support/test-env';
import { expectError, totalJobs } from './helpers';

/** What a careless route might throw: an error whose message carries a credential. */
const LEAKY_SECRET = 'postgres://admin:s3cr3t-hunter2@db.internal:5432';

// No worker: every case here is decided by the API before anything runs.
const env = testEnv();
const api = new ApiServer(env, {
  extraRoutes: (app) => {
    app.get('/v1/test/explode', async () => {
      throw new Error(`could not connect to ${LEAKY_SECRET}`);
    });
  },
});
const smallEnv = testEnv({ BODY_LIMIT: '2048' });
const small = new ApiServer(smallEnv);

beforeAll(async () => {
  await Promise.all([api.start(), small.start()]);
});

afterAll(async () => {
  await Promise.all([api.stop(), small.stop()]);
  await Promise.all([deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!), deletePrefix(smallEnv['REDIS_URL']!, smallEnv['QUEUE_PREFIX']!)]);
});

describe('400 VALIDATION_FAILED', () => {
  it('names the bad payload field', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { sleepMs: 'soon' } } });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ field: 'payload.sleepMs', message: expect.any(String) })]);
  });

  it('names every bad payload field at once, including unknown ones', async () => {
    const response = await api.request('POST', '/v1/tasks', {
      body: { role: 'echo', payload: { sleepMs: 60_001, failTimes: -1, colour: 'red' } },
    });
    const error = expectError(response, 400, 'VALIDATION_FAILED');
    const fields = (error.details as { field: string }[]).map((detail) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['payload.sleepMs', 'payload.failTimes']));
    expect(JSON.stringify(error.details)).toContain('colour');
  });

  it('names bad envelope fields: a missing role, bad options, an unknown top-level key', async () => {
    const missingRole = expectError(await api.request('POST', '/v1/tasks', { body: { payload: {} } }), 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(missingRole.details)).toContain('role');

    const badOptions = expectError(
      await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, options: { attempts: 0, delayMs: -5 } } }),
      400,
      'VALIDATION_FAILED',
    );
    const fields = (badOptions.details as { field: string }[]).map((detail) => detail.field);
    expect(fields.some((field) => field.endsWith('options.attempts'))).toBe(true);
    expect(fields.some((field) => field.endsWith('options.delayMs'))).toBe(true);

    const extra = expectError(
      await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, sneaky: true } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(JSON.stringify(extra.details)).toContain('sneaky');
  });

  it('refuses a role name that is not a role name at all', async () => {
    const error = expectError(await api.request('POST', '/v1/tasks', { body: { role: 'Echo:*', payload: {} } }), 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(error.details)).toContain('role');
  });
});

describe('400 INVALID_JSON', () => {
  it('answers a malformed body', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: '{"role": "echo", "payload": {' });
    expectError(response, 400, 'INVALID_JSON');
  });

  it('answers an empty body sent as JSON', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: '' });
    expect(response.status).toBe(400);
    expectError(response, 400, 'INVALID_JSON');
  });

  it('answers a body that is JSON followed by garbage', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: '{"role":"echo","payload":{}} trailing' });
    expectError(response, 400, 'INVALID_JSON');
  });
});

describe('401 UNAUTHORIZED', () => {
  it('answers a request without a key on every /v1 route, and enqueues nothing', async () => {
    const before = await totalJobs(api);
    const attempts = [
      api.request('POST', '/v1/tasks', { auth: false, body: { role: 'echo', payload: {} } }),
      api.request('POST', '/v1/tasks/batch', { auth: false, body: { tasks: [{ role: 'echo', payload: {} }] } }),
      api.request('GET', `/v1/tasks/${randomUUID()}`, { auth: false }),
      api.request('GET', '/v1/roles', { auth: false }),
      api.request('GET', `/v1/documents/${randomUUID()}`, { auth: false }),
    ];
    for (const response of await Promise.all(attempts)) expectError(response, 401, 'UNAUTHORIZED');
    expect(await totalJobs(api)).toBe(before);
  });

  it('answers a wrong key, a key id instead of its secret, and a non-Bearer scheme', async () => {
    const headers = [
      { authorization: 'Bearer not-the-secret' },
      { authorization: `Bearer ${TEST_API_KEY.id}` },
      { authorization: `Bearer ${TEST_API_KEY.secret}x` },
      { authorization: `Token ${TEST_API_KEY.secret}` },
      { authorization: `Basic ${Buffer.from(`${TEST_API_KEY.id}:${TEST_API_KEY.secret}`).toString('base64')}` },
      { authorization: 'Bearer ' },
    ];
    for (const header of headers) {
      const response = await api.request('POST', '/v1/tasks', { auth: false, headers: header, body: { role: 'echo', payload: {} } });
      expectError(response, 401, 'UNAUTHORIZED');
    }
  });

  it('checks the key before the body, so an anonymous caller learns nothing about the schema', async () => {
    const response = await api.request('POST', '/v1/tasks', { auth: false, body: { role: 'no-such-role', payload: { x: 1 } } });
    expectError(response, 401, 'UNAUTHORIZED');
  });
});

describe('404 NOT_FOUND and UNKNOWN_ROLE', () => {
  it('answers an unknown task id', async () => {
    const id = randomUUID();
    const error = expectError(await api.request('GET', `/v1/tasks/${id}`), 404, 'NOT_FOUND');
    expect(error.message).toContain(id);
  });

  it('answers an id that is not a task id at all', async () => {
    for (const id of ['not-a-uuid', '12345', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(128)]) {
      expectError(await api.request('GET', `/v1/tasks/${id}`), 404, 'NOT_FOUND');
    }
  });

  it('answers a URL the router cannot decode in the same error format', async () => {
    const error = expectError(await api.request('GET', '/v1/tasks/%E0%A4%A'), 400, 'VALIDATION_FAILED');
    expect(error.message).toMatch(/URL/);
  });

  it('answers an unknown document', async () => {
    expectError(await api.request('GET', `/v1/documents/${randomUUID()}`), 404, 'NOT_FOUND');
  });

  it('answers an unknown route, with or without a key', async () => {
    expectError(await api.request('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
    expectError(await api.request('GET', '/nothing-here', { auth: false }), 404, 'NOT_FOUND');
    expectError(await api.request('DELETE', '/v1/tasks'), 404, 'NOT_FOUND');
  });

  it('answers UNKNOWN_ROLE for a well-formed role nobody declared, listing the known ones', async () => {
    const error = expectError(await api.request('POST', '/v1/tasks', { body: { role: 'no-such-role', payload: {} } }), 404, 'UNKNOWN_ROLE');
    expect(error.message).toContain('no-such-role');
    expect(error.details).toEqual({ known: expect.arrayContaining(['echo', 'docs.ingest']) });
  });
});

describe('413 PAYLOAD_TOO_LARGE', () => {
  it('answers a body over BODY_LIMIT', async () => {
    const response = await small.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'x'.repeat(4000) } } });
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a chunked body (no Content-Length) that grows over BODY_LIMIT', async () => {
    const chunk = new TextEncoder().encode(`"${'y'.repeat(1000)}",`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"role":"echo","payload":{"message":['));
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${small.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY.secret}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expectError({ status: response.status, body: await response.json() }, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('still accepts a body under the limit on the same server', async () => {
    const response = await small.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'small' } } });
    expect(response.status).toBe(202);
  });
});

describe('415 UNSUPPORTED_MEDIA_TYPE', () => {
  it('answers text/plain, even when the text is valid JSON', async () => {
    const response = await api.request('POST', '/v1/tasks', {
      body: JSON.stringify({ role: 'echo', payload: {} }),
      headers: { 'content-type': 'text/plain' },
    });
    expectError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers form-urlencoded and multipart bodies', async () => {
    const form = await api.request('POST', '/v1/tasks', {
      body: 'role=echo&payload=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const multipart = await api.request('POST', '/v1/tasks', {
      body: '--b\r\nContent-Disposition: form-data; name="role"\r\n\r\necho\r\n--b--\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    });
    expectError(multipart, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('500 INTERNAL', () => {
  it('answers an unexpected error with the generic message and no internals', async () => {
    const response = await api.request('GET', '/v1/test/explode');
    const error = expectError(response, 500, 'INTERNAL');
    expect(error).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(response.text).not.toContain('hunter2');
    expect(response.text).not.toContain('db.internal');
    expect(response.text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('logs the real error for operators, without the caller\'s API key', async () => {
    await api.request('GET', '/v1/test/explode');
    const logged = api.logs.filter((line) => line['msg'] === 'request failed');
    expect(logged.length).toBeGreaterThan(0);
    expect(JSON.stringify(logged)).toContain('hunter2');
    expect(JSON.stringify(api.logs)).not.toContain(TEST_API_KEY.secret);
  });
});
