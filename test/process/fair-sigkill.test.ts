import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv, testRedis } from '../support/test-env';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY, holderOf, waitForState } from './helpers';

// fair-held: one task of a tenant at a time (tenantConcurrency 1), timeout 3 s: a slot is a lease of 3 s + the 2 s lock.
const env = testEnv({ ...FAST_RECOVERY, LOG_LEVEL: 'debug', ROLE_MODULES: resolve(__dirname, '../fixtures/roles/fair.cjs'), ROLES: 'fair-held' });
const api = new ApiServer(env);
const victim = new WorkerProcess(env);
const survivor = new WorkerProcess(env);
const redis = testRedis();

beforeAll(async () => {
  await Promise.all([api.start(), victim.start()]);
});

afterAll(async () => {
  await Promise.all([api.stop(), victim.stop(), survivor.stop()]);
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

describe('a fair role’s tenant slot held by a worker killed with SIGKILL', () => {
  it('frees by itself when its lease ends: the tenant’s next task runs, and so does the killed one', async () => {
    const metadata = { tenant: 'acme' };
    const held = await api.submit('fair-held', { n: 1, holdMs: 60_000 }, { metadata });
    await holderOf(held, [victim]);
    const leases = `${env['QUEUE_PREFIX']}{fair-held}:~fair-leases:fair-held:"acme"`;
    expect(await redis.zcard(leases)).toBe(1);

    victim.signal('SIGKILL');
    expect(await victim.exit()).toEqual({ code: null, signal: 'SIGKILL' });
    const next = await api.submit('fair-held', { n: 2 }, { metadata });
    await survivor.start();

    // Both wait for the dead worker's slot (their tenant's one), which frees when its lease ends.
    const [killed, following] = await Promise.all([waitForState(api, held, 'completed', 40_000), waitForState(api, next, 'completed', 40_000)]);
    expect(killed).toMatchObject({ attempts: 1, result: { n: 1 } });
    expect(following).toMatchObject({ attempts: 1, result: { n: 2 } });
    // Each gave its slot back: nothing of the tenant is left taken.
    expect(await redis.zcard(leases)).toBe(0);
  });
});
