import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectJobLogContext, FAST_RECOVERY, holderOf, isStallLine, metricValue, taskLine, waitForState } from './helpers';

// Short locks: if a draining worker stopped renewing its job's lock, another replica would see
// the job stall within a few seconds, well inside the job's sleep.
const env = testEnv({ ...FAST_RECOVERY, LOG_LEVEL: 'debug', ROLES: 'echo', SHUTDOWN_TIMEOUT_MS: '20000' });
const api = new ApiServer(env);
const workers: WorkerProcess[] = [];

function worker(): WorkerProcess {
  const process = new WorkerProcess(env);
  workers.push(process);
  return process;
}

beforeAll(async () => {
  await api.start();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((process) => process.stop()));
});

afterAll(async () => {
  await api.stop();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

describe('SIGTERM to a worker process running a task', () => {
  it('lets the task finish with its result, stalls nothing, and exits 0', async () => {
    const replicas = await Promise.all([worker().start(), worker().start()]);
    const payload = { message: 'finish me', sleepMs: 5000 };
    const id = await api.submit('echo', payload, { metadata: { correlationId: 'sigterm-drain' } });
    const draining = await holderOf(id, replicas);
    const observer = replicas.find((replica) => replica !== draining)!;

    draining.signal('SIGTERM');
    const exit = await draining.exit();

    expect(exit).toEqual({ code: 0, signal: null });
    const task = await waitForState(api, id, 'completed');
    expect(task).toMatchObject({ state: 'completed', attempts: 1, result: { echo: payload, attempt: 1 }, correlationId: 'sigterm-drain' });
    expect(task.history.map((entry: { state: string }) => entry.state)).toEqual(['queued', 'active', 'completed']);

    // The task was still running when the signal arrived, and finished inside the drain.
    const messages = draining.logs.map((line) => line.msg);
    const shutdownAt = messages.indexOf('shutting down: finishing active tasks');
    const completedAt = draining.logs.findIndex(taskLine(id, 'task completed'));
    expect(shutdownAt).toBeGreaterThanOrEqual(0);
    expect(completedAt).toBeGreaterThan(shutdownAt);
    expect(messages).toContain('worker stopped');
    expect(messages.some((msg) => typeof msg === 'string' && msg.includes('killed by timeout'))).toBe(false);

    // The other replica kept checking for stalled jobs all along and found none.
    expect(observer.logs.some(taskLine(id, 'task started'))).toBe(false);
    expect([...draining.logs, ...observer.logs].filter(isStallLine)).toEqual([]);
    expect(metricValue(await observer.metrics(), 'taskyard_tasks_stalled_total', { role: 'echo' })).toBe(0);

    expectJobLogContext(draining, { [id]: 'sigterm-drain' });
  });

  it('takes no new task after the signal; the next worker runs it', async () => {
    const draining = await worker().start();
    const running = await api.submit('echo', { message: 'running', sleepMs: 3000 }, { metadata: { correlationId: 'sigterm-running' } });
    await draining.waitForLog('the task to start', taskLine(running, 'task started'));

    draining.signal('SIGTERM');
    await draining.waitForLog('the drain to begin', (line) => line.msg === 'shutting down: finishing active tasks');
    const late = await api.submit('echo', { message: 'late' }, { metadata: { correlationId: 'sigterm-late' } });
    const exit = await draining.exit();

    expect(exit).toEqual({ code: 0, signal: null });
    await waitForState(api, running, 'completed');
    expect(draining.logs.some((line) => line['taskId'] === late)).toBe(false);
    expect((await api.task(late))?.state).toBe('queued');

    const next = await worker().start();
    const task = await waitForState(api, late, 'completed');
    expect(task.result).toEqual({ echo: { message: 'late' }, attempt: 1 });
    await waitFor('the next worker to log the late task', () => next.logs.some(taskLine(late, 'task completed')));
    expectJobLogContext(draining, { [running]: 'sigterm-running' });
    expectJobLogContext(next, { [late]: 'sigterm-late' });
  });
});
