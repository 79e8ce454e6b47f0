import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, TEST_API_KEY, testEnv } from '../support/test-env';
import { expectError } from './helpers';

const OTHER_KEY = { id: 'other', secret: 'other-secret-0123456789abcdef' };
const asOther = { authorization: `Bearer ${OTHER_KEY.secret}` };

// Two API replicas on one Redis and prefix: the per-key limit of 5 a minute is shared by both.
const env = testEnv({
  RATE_LIMIT_PER_MINUTE: '5',
  API_KEYS: `${TEST_API_KEY.id}:${TEST_API_KEY.secret},${OTHER_KEY.id}:${OTHER_KEY.secret}`,
});
const replicaA = new ApiServer(env);
const replicaB = new ApiServer(env);
const unlimitedEnv = testEnv();
const unlimited = new ApiServer(unlimitedEnv);

beforeAll(async () => {
  await Promise.all([replicaA.start(), replicaB.start(), unlimited.start()]);
});

afterAll(async () => {
  await Promise.all([replicaA.stop(), replicaB.stop(), unlimited.stop()]);
  await Promise.all([deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!), deletePrefix(unlimitedEnv['REDIS_URL']!, unlimitedEnv['QUEUE_PREFIX']!)]);
});

const echo = { role: 'echo', payload: { message: 'counted' } };

describe('RATE_LIMIT_PER_MINUTE=5 per API key, across API replicas', () => {
  it('lets 5 requests through across both replicas, with RateLimit headers counting down', async () => {
    const calls = [
      () => replicaA.request('POST', '/v1/tasks', { body: echo }),
      () => replicaB.request('GET', '/v1/roles'),
      () => replicaA.request('GET', '/v1/roles'),
      () => replicaB.request('POST', '/v1/tasks', { body: echo }),
      () => replicaA.request('GET', '/v1/roles'),
    ];
    const remaining: string[] = [];
    for (const call of calls) {
      const response = await call();
      expect(response.status).toBeLessThan(300);
      expect(response.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      remaining.push(response.headers.get('ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
  });

  it('answers the 6th request 429 RATE_LIMITED with Retry-After and RateLimit headers, on either replica', async () => {
    for (const replica of [replicaB, replicaA]) {
      const response = await replica.request('POST', '/v1/tasks', { body: echo });
      const error = expectError(response, 429, 'RATE_LIMITED');
      expect(error.details).toEqual({ limit: 5, windowSeconds: 60 });
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(response.headers.get('ratelimit-limit')).toBe('5');
      expect(response.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(response.headers.get('ratelimit-reset'))).toBe(retryAfter);
    }
  });

  it('does not enqueue refused requests', async () => {
    // Another key reads the counts: only the two accepted tasks are there.
    const roles = await replicaA.request('GET', '/v1/roles', { headers: asOther });
    expect(roles.status).toBe(200);
    const echoRole = (roles.body.roles as { name: string; counts: Record<string, number> }[]).find((role) => role.name === 'echo')!;
    expect(echoRole.counts['queued']).toBe(2);
  });

  it('counts each API key on its own: another key is not limited', async () => {
    const response = await replicaB.request('POST', '/v1/tasks', { body: echo, headers: asOther });
    expect(response.status).toBe(202);
    // The other key has made 2 requests now (GET /v1/roles above and this one).
    expect(response.headers.get('ratelimit-remaining')).toBe('3');
  });

  it('does not count requests that fail authentication', async () => {
    const response = await replicaA.request('GET', '/v1/roles', { auth: false });
    expectError(response, 401, 'UNAUTHORIZED');
    expect(response.headers.get('ratelimit-limit')).toBeNull();
  });

  it('is off by default: no limit and no RateLimit headers', async () => {
    for (let i = 0; i < 7; i++) {
      const response = await unlimited.request('GET', '/v1/roles');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });

  // Last: it takes replica B's connection away.
  it('answers 503 REDIS_UNAVAILABLE with Retry-After, not a 500, when Redis cannot count', async () => {
    replicaB.redis.disconnect();
    const response = await replicaB.request('GET', '/v1/roles', { headers: asOther });
    expectError(response, 503, 'REDIS_UNAVAILABLE');
    expect(response.headers.get('retry-after')).not.toBeNull();
  });
});
