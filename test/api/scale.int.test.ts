import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { metricValue, roleCounts } from './helpers';

const env = testEnv({ ROLES: 'echo' });
const api = new ApiServer(env);
const workers = [new WorkerProcess(env), new WorkerProcess(env)];

beforeAll(async () => {
  await Promise.all([api.start(), ...workers.map((worker) => worker.start())]);
});

afterAll(async () => {
  await Promise.all([api.stop(), ...workers.map((worker) => worker.stop())]);
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

async function completedBy(worker: WorkerProcess): Promise<number> {
  return metricValue(await worker.metrics(), 'taskyard_tasks_processed_total', { role: 'echo', outcome: 'completed' }) ?? 0;
}

describe('3000 tasks across two worker processes', () => {
  it('all complete, both workers take a share, and the shares add up to 3000', async () => {
    expect(workers[0]!.pid).not.toBe(workers[1]!.pid);
    const ids: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      // A few milliseconds of work per task, so neither worker can drain a batch before the other polls.
      const tasks = Array.from({ length: 1000 }, (_, index) => ({ role: 'echo', payload: { message: `b${batch}-${index}`, sleepMs: 5 } }));
      const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks } });
      expect(response.status).toBe(202);
      ids.push(...response.body.tasks.map((task: { id: string }) => task.id));
    }
    expect(new Set(ids).size).toBe(3000);

    await waitFor('3000 completed tasks', async () => (await roleCounts(api, 'echo')).completed === 3000, { timeoutMs: 50_000, intervalMs: 250 });
    expect(await roleCounts(api, 'echo')).toEqual({ queued: 0, delayed: 0, active: 0, completed: 3000, failed: 0 });

    const shares = await Promise.all(workers.map(completedBy));
    expect(shares[0]).toBeGreaterThan(0);
    expect(shares[1]).toBeGreaterThan(0);
    expect(shares[0]! + shares[1]!).toBe(3000);

    // Every id reads back completed with its own result (a sample, spread over the three batches).
    for (const index of [0, 999, 1000, 1500, 2001, 2999]) {
      const view = await api.task(ids[index]!);
      expect(view).toMatchObject({ state: 'completed', result: { echo: { message: `b${Math.floor(index / 1000)}-${index % 1000}` } } });
    }
  });
});
