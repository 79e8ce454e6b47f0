import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../apps/api/src/plugins/bull-board';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform, useRoleQueue } from '../support/platform';
import { expectError, waitForState } from './helpers';

const viewer = key('viewer', ['dashboard:read']);
const root = key('root', ['admin']);
const file = new KeyFile([viewer, root]);
const BOARD = '/admin/queues/api';

describe('the dashboard: read-only for dashboard:read, writable for admin, enforced on its own API routes', () => {
  const { api, env } = usePlatform({ API_KEYS_FILE: file.path, ROLE_MODULES: resolve(__dirname, '../fixtures/roles/sensitive.cjs'), ROLES: 'echo,vault' });
  const { queue: echo } = useRoleQueue(env, 'echo');
  const board = (entry: { secret: string }, method: string, path: string, body?: unknown) =>
    api.request(method, `${BOARD}${path}`, { auth: false, headers: bearer(entry), ...(body === undefined ? {} : { body }) });

  it('shows every queue read-only to a viewer (no actions, no retries) and writable to an admin', async () => {
    const seen = (await board(viewer, 'GET', '/queues')).body.queues as { name: string; readOnlyMode: boolean; allowRetries: boolean }[];
    expect(seen.map((queue) => [queue.readOnlyMode, queue.allowRetries])).toEqual(seen.map(() => [true, false]));
    const admin = (await board(root, 'GET', '/queues')).body.queues as { readOnlyMode: boolean; allowRetries: boolean }[];
    expect(admin.map((queue) => [queue.readOnlyMode, queue.allowRetries])).toEqual(admin.map(() => [false, true]));
  });

  it('refuses every action to a viewer with 403 naming the admin scope, and changes nothing', async () => {
    const parked = await api.submit('echo', {}, { options: { delayMs: 600_000 } });
    const actions: [string, string, unknown?][] = [
      ['PUT', '/queues/echo/pause'],
      ['PUT', '/queues/pause'],
      ['PUT', '/queues/echo/retry/failed'],
      ['PUT', '/queues/echo/retry/completed'],
      ['PUT', '/queues/echo/clean/delayed'],
      ['PUT', '/queues/echo/promote'],
      ['PUT', `/queues/echo/${parked}/promote`],
      ['PUT', `/queues/echo/${parked}/clean`],
      ['POST', '/queues/echo/add', { name: 'echo', data: { forged: true } }],
      ['PUT', '/queues/echo/empty'],
      ['PUT', '/queues/echo/obliterate'],
    ];
    for (const [method, path, body] of actions) {
      const response = await board(viewer, method, path, body);
      expect(expectError(response, 403, 'FORBIDDEN').message, `${method} ${path}`).toBe('this API key lacks the scope "admin"');
    }
    // The Redis server's own details are an admin's too.
    expect((await board(viewer, 'GET', '/redis/stats')).status).toBe(403);
    // Matched as routes, whatever the spelling; the workers' addresses and a job's log are an admin's too.
    expect((await board(viewer, 'GET', '/redis/%73tats')).status).toBe(403);
    expect((await board(viewer, 'GET', '/queues/echo/workers')).status).toBe(403);
    expect((await board(viewer, 'GET', `/queues/echo/${parked}/logs`)).status).toBe(403);
    expect(await echo.isPaused()).toBe(false);
    expect(await echo.getJobState(parked)).toBe('delayed');
    expect(await echo.getJobCounts('waiting', 'delayed')).toMatchObject({ waiting: 0, delayed: 1 });
  });

  it('lets an admin act, and audits each action', async () => {
    const parked = await api.submit('echo', {}, { options: { delayMs: 600_000 } });
    const ok = (response: { status: number }) => expect([200, 204]).toContain(response.status);
    ok(await board(root, 'PUT', '/queues/echo/pause'));
    expect(await echo.isPaused()).toBe(true);
    ok(await board(root, 'PUT', '/queues/echo/resume'));
    expect(await echo.isPaused()).toBe(false);
    ok(await board(root, 'PUT', `/queues/echo/${parked}/promote`));
    await waitForState(api, parked, 'completed');
    expect((await board(root, 'GET', '/redis/stats')).status).toBe(200);
    const audited = api.logs.filter((line) => line['event'] === 'admin.action' && line['action'] === 'board.action');
    expect(audited).toEqual(expect.arrayContaining([expect.objectContaining({ keyId: 'root', method: 'PUT', path: `${BOARD}/queues/echo/pause` })]));
  });

  it('redacts a sensitive role’s job data and results for everyone, and stores no stack traces', async () => {
    const id = await api.submit('vault', { secret: 'the-launch-code' });
    await waitForState(api, id, 'completed');
    const failed = await api.submit('echo', { failTimes: 5 }, { options: { attempts: 1 } });
    await waitForState(api, failed, 'failed');
    const stored = (await echo.getJob(failed))!.stacktrace ?? [];
    expect(stored.length).toBeGreaterThan(0);
    // Name and message only: no line of the worker's code (its file paths) is stored with the job.
    for (const trace of stored) expect({ trace, frames: trace.includes('\n') || trace.includes('.js:') }).toEqual({ trace, frames: false });
    for (const entry of [viewer, root]) {
      const page = await board(entry, 'GET', '/queues?activeQueue=vault&status=completed&page=1&jobsPerPage=10');
      const vault = (page.body.queues as { name: string; jobs: { data: unknown; returnValue: unknown }[] }[]).find((queue) => queue.name.endsWith('vault'))!;
      expect(vault.jobs.map((job) => [job.data, job.returnValue])).toEqual([[REDACTED, REDACTED]]);
      expect(page.text).not.toContain('the-launch-code');
    }
  });
});
