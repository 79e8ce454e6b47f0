import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { WorkerProcess } from '../support/worker-process';
import { expectJobLogContext, FAST_RECOVERY, holderOf, isStallLine, metricValue, taskLine, waitForState } from './helpers';

const env = testEnv({ ...FAST_RECOVERY, LOG_LEVEL: 'debug', ROLES: 'echo' });
const api = new ApiServer(env);
const replicas = [new WorkerProcess(env), new WorkerProcess(env)];

beforeAll(async () => {
  await Promise.all([api.start(), ...replicas.map((replica) => replica.start())]);
});

afterAll(async () => {
  await Promise.all([api.stop(), ...replicas.map((replica) => replica.stop())]);
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

describe('a worker replica killed with SIGKILL in the middle of a task', () => {
  it('loses nothing: the other replica finds the stalled task and completes it', async () => {
    const payload = { message: 'survive a crash', sleepMs: 4000 };
    const id = await api.submit('echo', payload, { metadata: { correlationId: 'sigkill-1' } });
    const victim = await holderOf(id, replicas);
    const survivor = replicas.find((replica) => replica !== victim)!;
    expect((await api.task(id))?.state).toBe('active');

    victim.signal('SIGKILL');
    expect(await victim.exit()).toEqual({ code: null, signal: 'SIGKILL' });

    const task = await waitForState(api, id, 'completed', 40_000);
    expect(task).toMatchObject({ state: 'completed', correlationId: 'sigkill-1', result: { echo: payload } });
    expect(victim.logs.some(taskLine(id, 'task completed'))).toBe(false);
    expect(survivor.logs.some(taskLine(id, 'task started'))).toBe(true);
    expect(survivor.logs.some(taskLine(id, 'task completed'))).toBe(true);

    // The survivor says what happened, in its log and in its metrics.
    const stalls = survivor.logs.filter(isStallLine);
    expect(stalls).toEqual([expect.objectContaining({ level: 'warn', role: 'echo', taskId: id })]);
    const metrics = await survivor.metrics();
    expect(metricValue(metrics, 'taskyard_tasks_stalled_total', { role: 'echo' })).toBe(1);
    expect(metricValue(metrics, 'taskyard_tasks_processed_total', { role: 'echo', outcome: 'completed' })).toBe(1);

    expectJobLogContext(survivor, { [id]: 'sigkill-1' });
    expectJobLogContext(victim, { [id]: 'sigkill-1' });
  });
});
