import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for';
import { usePlatform } from '../support/platform';

const { api } = usePlatform();

describe('a task submitted over REST', () => {
  it('travels through the queue and a worker process and comes back with its result', async () => {
    const id = await api.submit('echo', { message: 'hello' }, { metadata: { correlationId: 'order-42', labels: { team: 'qa' } } });

    const task = await waitFor('the task to complete', async () => {
      const view = await api.task(id);
      return view?.state === 'completed' ? view : undefined;
    });

    expect(task).toMatchObject({
      id,
      role: 'echo',
      state: 'completed',
      attempts: 1,
      maxAttempts: 3,
      result: { echo: { message: 'hello' }, attempt: 1 },
      correlationId: 'order-42',
      causationId: null,
    });
    expect(task.history.map((entry: { state: string }) => entry.state)).toEqual(['queued', 'active', 'completed']);
    expect(Date.parse(task.finishedAt)).toBeGreaterThanOrEqual(Date.parse(task.startedAt));
  });

  it('is retried after transient failures and succeeds, with every attempt in its history', async () => {
    const id = await api.submit('echo', { message: 'flaky', failTimes: 2 });

    const task = await waitFor('the task to complete', async () => {
      const view = await api.task(id);
      return view?.state === 'completed' ? view : undefined;
    });

    expect(task.attempts).toBe(3);
    expect(task.result).toEqual({ echo: { message: 'flaky', failTimes: 2 }, attempt: 3 });
    expect(task.history.map((entry: { state: string }) => entry.state)).toEqual([
      'queued', 'active', 'delayed', 'active', 'delayed', 'active', 'completed',
    ]);
    expect(task.history[2].reason).toContain('ECHO_PLANNED_FAILURE');
  });
});
