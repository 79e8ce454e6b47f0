import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { loadRoleRegistry } from '@taskyard/roles';
import { usePlatform } from '../support/platform';
import { waitForState } from './helpers';

const GREETING = resolve(__dirname, '../fixtures/roles/greeting.cjs');

describe('roles added through ROLE_MODULES', () => {
  const { api } = usePlatform({ ROLE_MODULES: GREETING, ROLE_GREETING_CONCURRENCY: '3', MESSAGE_TIMEOUT: '45s' });

  it('are validated by the API, run by the workers and configurable like built-in roles', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; concurrency: number; timeoutMs: number }[];
    expect(roles.find((role) => role.name === 'greeting')).toMatchObject({ concurrency: 3, timeoutMs: 45_000 });
    // echo declares its own timeout, so MESSAGE_TIMEOUT leaves it alone.
    expect(roles.find((role) => role.name === 'echo')?.timeoutMs).toBe(90_000);

    const bad = await api.request('POST', '/v1/tasks', { body: { role: 'greeting', payload: { name: '' } } });
    expect(bad.status).toBe(400);
    const id = await api.submit('greeting', { name: 'Ada' });
    const task = await waitForState(api, id, 'completed');
    expect(task.result).toEqual({ text: 'hello, Ada' });
  });

  it('refuses a module that cannot be loaded or exports no role, naming the variable', () => {
    expect(() => loadRoleRegistry({ ROLE_MODULES: '/nowhere/roles.js' }, builtInRoles)).toThrow(ConfigError);
    expect(() => loadRoleRegistry({ ROLE_MODULES: '/nowhere/roles.js' }, builtInRoles)).toThrow(/ROLE_MODULES: cannot load \/nowhere\/roles.js/);
    expect(() => loadRoleRegistry({ ROLE_MODULES: resolve(__dirname, '../support/wait-for.ts') }, builtInRoles)).toThrow(/exports no role|cannot load/);
    expect(() => loadRoleRegistry({ ROLE_MODULES: `${GREETING},${GREETING}` }, builtInRoles)).not.toThrow();
  });
});

describe('BUILT_IN_ROLES', () => {
  // A deployment of its own roles only: the shipped ones are not there to be called.
  const { api } = usePlatform({ ROLE_MODULES: GREETING, BUILT_IN_ROLES: 'none' });

  it('keeps only the built-in roles it names (none here): the others are unknown to the API', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string }[];
    expect(roles.map((role) => role.name)).toEqual(['greeting']);
    expect((await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {} } })).status).toBe(404);
    expect(await waitForState(api, await api.submit('greeting', { name: 'alone' }), 'completed')).toMatchObject({ result: { text: 'hello, alone' } });
  });

  it('takes a list, and refuses a name it does not ship, naming the variable', () => {
    expect(loadRoleRegistry({ BUILT_IN_ROLES: 'echo, docs.store' }, builtInRoles).names()).toEqual(['echo', 'docs.store']);
    expect(loadRoleRegistry({ BUILT_IN_ROLES: 'all' }, builtInRoles).names()).toEqual(builtInRoles.names());
    expect(() => loadRoleRegistry({ BUILT_IN_ROLES: 'echo,translate' }, builtInRoles)).toThrow(/BUILT_IN_ROLES: unknown built-in role\(s\) translate/);
  });
});
