import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { waitFor } from '../support/wait-for';
import { deletePrefix, testEnv } from '../support/test-env';
import { expectError, totalJobs } from './helpers';

// A heap limit of 1 byte: once under-pressure has taken its first sample (every second), this
// API is permanently "overloaded". A second replica on the same prefix, without the limit, looks
// at the queues.
const env = testEnv({ PRESSURE_MAX_HEAP_USED_BYTES: '1' });
const overloaded = new ApiServer(env);
const observer = new ApiServer({ ...env, PRESSURE_MAX_HEAP_USED_BYTES: '0' });

beforeAll(async () => {
  await Promise.all([overloaded.start(), observer.start()]);
});

afterAll(async () => {
  await Promise.all([overloaded.stop(), observer.stop()]);
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

describe('load shedding (PRESSURE_MAX_HEAP_USED_BYTES)', () => {
  it('answers /v1 routes 503 OVERLOADED with Retry-After once the heap is past the limit', async () => {
    const shed = await waitFor(
      'the API to shed load',
      async () => {
        const response = await overloaded.request('GET', '/v1/roles');
        return response.status === 503 ? response : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expectError(shed, 503, 'OVERLOADED');
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses submissions without enqueueing them', async () => {
    const response = await overloaded.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {} } });
    expectError(response, 503, 'OVERLOADED');
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(await totalJobs(observer)).toBe(0);
  });

  it('keeps answering health checks and metrics, so the process is not restarted for being busy', async () => {
    expect((await overloaded.request('GET', '/health/live', { auth: false })).status).toBe(200);
    expect((await overloaded.request('GET', '/health/ready', { auth: false })).status).toBe(200);
    expect((await overloaded.request('GET', '/metrics')).status).toBe(200);
  });

  it('does not shed on a replica without the limit', async () => {
    expect((await observer.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {} } })).status).toBe(202);
  });
});
