import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@taskyard/config';
import { createMessage, MessageSigner } from '@taskyard/crypto';
import { builtInRoles } from '@taskyard/example-roles';
import { effectiveRoles, loadRoleRegistry } from '@taskyard/roles';
import { jobOptionsFor } from '@taskyard/store';
import { roleQueue } from '../support/role-queue';
import { usePlatform } from '../support/platform';
import { TEST_API_KEY, TEST_SIGNING_KEY, testRedis } from '../support/test-env';
import { expectError, roleCounts, waitForState } from './helpers';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/access.cjs');
const PARTNER = { id: 'partner', secret: 'partner-secret-0123456789abcdef' };

describe('access control: who may send tasks to a role', () => {
  const { api, env } = usePlatform({
    ROLE_MODULES,
    API_KEYS: `${TEST_API_KEY.id}:${TEST_API_KEY.secret},${PARTNER.id}:${PARTNER.secret}`,
  });
  const asPartner = { authorization: `Bearer ${PARTNER.secret}` };

  it('refuses an API key the role does not accept with 403, and enqueues nothing', async () => {
    const refused = await api.request('POST', '/v1/tasks', { body: { role: 'ledger', payload: { amount: 5 } } });
    const error = expectError(refused, 403, 'FORBIDDEN');
    expect(error.message).toContain('"test"');
    expect(error.details).toEqual({ field: 'role' });
    // A 403 never names the keys that may send (other keys' ids).
    expect(JSON.stringify(error)).not.toContain('partner');

    const batch = await api.request('POST', '/v1/tasks/batch', {
      body: { tasks: [{ role: 'echo', payload: {} }, { role: 'ledger', payload: { amount: 1 } }] },
    });
    expect(expectError(batch, 403, 'FORBIDDEN').details).toMatchObject({ index: 1, field: 'tasks.1.role' });
    expect(((await roleCounts(api, 'ledger'))['queued'] ?? 0) + ((await roleCounts(api, 'echo'))['queued'] ?? 0)).toBe(0);
  });

  it('runs the tasks of a key it accepts', async () => {
    const accepted = await api.request('POST', '/v1/tasks', { body: { role: 'ledger', payload: { amount: 7 } }, headers: asPartner, auth: false });
    expect(accepted.status).toBe(202);
    expect((await waitForState(api, accepted.body.id, 'completed')).result).toEqual({ booked: 7 });
  });

  it('lets a role it accepts send it tasks, and fails a sender it does not accept permanently', async () => {
    const relay = await api.submit('relay', { amount: 3 });
    const forwarded = (await waitForState(api, relay, 'completed')).result as { id: string };
    const booked = await waitForState(api, forwarded.id, 'completed');
    expect(booked).toMatchObject({ result: { booked: 3 }, causationId: relay });

    const intruder = await api.submit('intruder', { amount: 9 });
    const failed = await waitForState(api, intruder, 'failed');
    expect(failed).toMatchObject({ attempts: 1, maxAttempts: 3, error: { code: 'SEND_FORBIDDEN', class: 'permanent' } });
  });

  it('has the worker refuse a signed message whose source the role does not accept', async () => {
    // A producer holding the signing key but not going through the API (or a bug) cannot get
    // a task from a source the role refuses run: the source is signed, and the worker checks it.
    const roles = loadRoleRegistry(env, builtInRoles);
    const ledger = roles.get('ledger')!;
    const message = createMessage({ role: 'ledger', payload: { amount: 1 }, source: 'api:test' }, new MessageSigner([TEST_SIGNING_KEY]));
    const redis = testRedis();
    const queue = roleQueue(redis, env['QUEUE_PREFIX']!, 'ledger');
    try {
      await queue.add('ledger', message, jobOptionsFor(ledger, message.id, { ageSeconds: 3600, count: 100 }));
    } finally {
      await queue.close();
      redis.disconnect();
    }
    const failed = await waitForState(api, message.id, 'failed');
    expect(failed).toMatchObject({ attempts: 1, error: { code: 'SOURCE_FORBIDDEN', class: 'permanent' } });
  });

  it('shows acceptFrom in GET /v1/roles, and takes a deployment override validated with the config', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; acceptFrom?: string[] }[];
    expect(roles.find((role) => role.name === 'ledger')?.acceptFrom).toEqual(['api:partner', 'role:relay']);
    expect(roles.find((role) => role.name === 'echo')?.acceptFrom).toBeUndefined();

    const registry = loadRoleRegistry(env, builtInRoles);
    const config = loadConfig({ ...env, ROLE_LEDGER_ACCEPT_FROM: 'api:*, role:relay' }, { knownRoles: registry.names() });
    expect(effectiveRoles(config, registry).get('ledger')?.acceptFrom).toEqual(['api:*', 'role:relay']);
    expect(() => loadConfig({ ...env, ROLE_LEDGER_ACCEPT_FROM: 'everyone' }, { knownRoles: registry.names() })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, ROLE_LEDGER_ACCEPT_FROM: 'everyone' }, { knownRoles: registry.names() })).toThrow(/ROLE_LEDGER_ACCEPT_FROM/);
  });
});
