import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { waitFor } from '../support/wait-for';
import { FAST_RECOVERY, isStallLine, metricValue, taskLine, waitForState } from './helpers';

const ROLE_MODULE = resolve(__dirname, '../fixtures/roles/timeouts.cjs');

// Short locks: a worker whose event loop was blocked for the `blocking` role's 3 s timeout would
// lose its job's lock and see it stall. MESSAGE_TIMEOUT is the timeout of `sleepy`, which declares none.
const { api, worker } = usePlatform({
  ...FAST_RECOVERY,
  ROLE_MODULES: ROLE_MODULE,
  MESSAGE_TIMEOUT: '1s',
  ROLES: 'echo,sleepy,stubborn,blocking,spinning,isolated-ok,isolated-permanent,isolated-bad-send,isolated-crash',
  LOG_LEVEL: 'info',
});

const states = (task: { history: { state: string }[] }) => task.history.map((entry) => entry.state);

/** True while a process with this pid exists (exited children are reaped by node at once). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const lost = async (role: string, reason: string) =>
  metricValue(await worker.metrics(), 'taskyard_isolated_children_lost_total', { role, reason });

describe('a handler that honours its signal', () => {
  it('is aborted at the timeout; the attempt fails as a transient TIMEOUT and the retry succeeds', async () => {
    const id = await api.submit('sleepy', { sleepMs: 20_000, sleepAttempts: 1 });
    const task = await waitForState(api, id, 'completed');

    expect(task).toMatchObject({ attempts: 2, result: { attempt: 2 } });
    expect(states(task)).toEqual(['queued', 'active', 'delayed', 'active', 'completed']);
    expect(task.history[2].reason).toBe('TIMEOUT: task timed out after 1000 ms');
    // The handler's own AbortSignal fired, with the timeout as its reason.
    expect(await worker.waitForLog('the handler to see its signal', taskLine(id, 'sleepy saw its signal fire'))).toMatchObject({
      reasonCode: 'TIMEOUT',
      attempt: 1,
    });
  });
});

describe('MESSAGE_TIMEOUT', () => {
  it('is the timeout of a role that declares none, shown by GET /v1/roles and in the failure', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; timeoutMs: number; isolated: boolean }[];
    expect(roles.find((role) => role.name === 'sleepy')).toMatchObject({ timeoutMs: 1000, isolated: false });
    // A declared timeout wins over MESSAGE_TIMEOUT.
    expect(roles.find((role) => role.name === 'blocking')).toMatchObject({ timeoutMs: 3000, isolated: true });

    const id = await api.submit('sleepy', { sleepMs: 20_000, sleepAttempts: 1 }, { options: { attempts: 1 } });
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({
      attempts: 1,
      error: { code: 'TIMEOUT', class: 'transient', message: 'task timed out after 1000 ms', attempt: 1 },
    });
  });
});

describe('a handler that ignores its signal', () => {
  it('still frees its slot at the timeout: the next task of the concurrency-1 role runs meanwhile', async () => {
    const stuck = await api.submit('stubborn', { waitMs: 25_000 });
    const next = await api.submit('stubborn', { waitMs: 0 });

    const done = await waitForState(api, next, 'completed');
    expect(done.result).toEqual({ waited: 0 });
    const failed = await waitForState(api, stuck, 'failed');
    expect(failed.error).toMatchObject({ code: 'TIMEOUT', class: 'transient', message: 'task timed out after 700 ms' });
    // The ignored handler is still waiting in the background: the slot did not wait for it.
    expect(worker.logs.some(taskLine(stuck, 'stubborn finished waiting'))).toBe(false);
  });
});

describe('an isolated role', () => {
  it('kills a handler that blocks its event loop at the timeout; the worker stays healthy and runs the next task', async () => {
    const blocked = await api.submit('blocking', { block: true });
    // The handler's lines reach the worker's log stream, with the task's fields and its process's pid.
    const spinning = await worker.waitForLog('the handler to block', taskLine(blocked, 'blocking its event loop'));
    expect(spinning).toMatchObject({ role: 'blocking', attempt: 1 });
    const childPid = spinning['pid'] as number;
    expect(childPid).not.toBe(worker.pid);
    expect(isRunning(childPid)).toBe(true);
    expect(await worker.health('/health/ready')).toBe(200);

    const task = await waitForState(api, blocked, 'failed');
    expect(task).toMatchObject({ attempts: 1, error: { code: 'TIMEOUT', class: 'transient', message: 'task timed out after 3000 ms' } });
    const kill = await worker.waitForLog('the kill', taskLine(blocked, 'isolated process killed at the timeout'));
    expect(kill).toMatchObject({ childPid, reason: 'timeout', pid: worker.pid });
    await waitFor('the killed process to be gone', () => !isRunning(childPid));
    expect(await lost('blocking', 'timeout')).toBe(1);
    // The worker kept renewing the job's lock while its handler was stuck.
    expect(worker.logs.filter(isStallLine)).toEqual([]);
    expect(await worker.health('/health/ready')).toBe(200);

    const next = await api.submit('blocking', { block: false });
    const done = await waitForState(api, next, 'completed');
    expect(done.result.pid).toEqual(expect.any(Number));
    expect([childPid, worker.pid]).not.toContain(done.result.pid);
  });

  it('kills the process of a cancelled task at once, without waiting for the timeout', async () => {
    const id = await api.submit('spinning', {});
    const spinning = await worker.waitForLog('the handler to block', taskLine(id, 'blocking its event loop'));
    const childPid = spinning['pid'] as number;

    expect((await api.request('DELETE', `/v1/tasks/${id}`)).status).toBe(202);
    const task = await waitForState(api, id, 'cancelled');
    expect(task).toMatchObject({ attempts: 1, maxAttempts: 2 });
    const kill = await worker.waitForLog('the kill', taskLine(id, 'isolated process killed: its attempt was aborted'));
    expect(kill).toMatchObject({ childPid, reason: 'aborted' });
    await waitFor('the killed process to be gone', () => !isRunning(childPid));
    expect(await lost('spinning', 'aborted')).toBe(1);
  });

  it('runs a handler with a working context: result, progress, follow-up task, log, redis and once', async () => {
    const id = await api.submit('isolated-ok', { name: 'Ada' }, { metadata: { correlationId: 'isolated-ok-1' } });
    const task = await waitForState(api, id, 'completed');

    expect(task.result).toMatchObject({ visits: 1, once: 'hello Ada', onceAgain: 'hello Ada' });
    // Only the worker signs follow-up tasks: handler code in the child never sees the keys.
    expect(task.result.sawSigningKeys).toBe(false);
    expect(task.result.pid).not.toBe(worker.pid);
    expect(task.progress).toBe(100);
    const followUp = await waitForState(api, task.result.followUp, 'completed');
    expect(followUp).toMatchObject({ role: 'echo', correlationId: 'isolated-ok-1', causationId: id, result: { echo: { message: 'from Ada' } } });
    expect(await worker.waitForLog('the handler\'s line', taskLine(id, 'isolated handler running'))).toMatchObject({
      role: 'isolated-ok',
      correlationId: 'isolated-ok-1',
      attempt: 1,
      name: 'Ada',
      pid: task.result.pid,
    });

    // The process is reused for the next task.
    const second = await waitForState(api, await api.submit('isolated-ok', { name: 'Bob' }), 'completed');
    expect(second.result).toMatchObject({ pid: task.result.pid, visits: 2, once: 'hello Bob' });
  });

  it('keeps a permanent error permanent: one attempt, class permanent, its code and message', async () => {
    const refused = await waitForState(api, await api.submit('isolated-permanent', {}), 'failed');
    expect(refused).toMatchObject({
      attempts: 1,
      maxAttempts: 3,
      error: { code: 'FIXTURE_REFUSED', class: 'permanent', message: 'the fixture refuses this task', attempt: 1 },
    });

    // An invalid follow-up is refused by the worker, and the refusal fails the task from the child the same way.
    const badSend = await waitForState(api, await api.submit('isolated-bad-send', {}), 'failed');
    expect(badSend).toMatchObject({ attempts: 1, error: { code: 'SEND_INVALID', class: 'permanent' } });
  });

  it('fails the attempt as a transient ISOLATED_CRASHED when its process dies, and retries in a new one', async () => {
    const id = await api.submit('isolated-crash', {});
    const task = await waitForState(api, id, 'completed');

    expect(task).toMatchObject({ attempts: 2, result: { attempt: 2 } });
    expect(task.history[2].reason).toMatch(/^ISOLATED_CRASHED: .*isolated-crash.*code 7/);
    const crash = await worker.waitForLog('the crash line', taskLine(id, 'isolated process exited during its task'));
    expect(crash).toMatchObject({ exitCode: 7, attempt: 1 });
    expect(task.result.pid).not.toBe(crash['childPid']);
    expect(await lost('isolated-crash', 'crashed')).toBe(1);
  });

  it('has its processes ended when the worker shuts down', async () => {
    const pids = worker.logs.filter((line) => line.msg === 'isolated process started').map((line) => line['childPid'] as number);
    const alive = pids.filter(isRunning);
    expect(alive.length).toBeGreaterThan(0);

    worker.signal('SIGTERM');
    expect(await worker.exit()).toEqual({ code: 0, signal: null });
    await waitFor('every isolated process to be gone', () => alive.every((pid) => !isRunning(pid)), { timeoutMs: 5000 });
    // The children's lines share the worker's stdout and stay whole JSON lines.
    expect(worker.nonJsonLines).toEqual([]);
  });
});
