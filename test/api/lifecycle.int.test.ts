import { describe, expect, it } from 'vitest';
import { TEST_API_KEY } from '../support/test-env';
import { usePlatform } from '../support/platform';
import { expectError, waitForState } from './helpers';

const { api } = usePlatform({ ROLES: 'echo' });

const states = (task: { history: { state: string }[] }) => task.history.map((entry) => entry.state);

describe('a delayed task', () => {
  it('reads delayed first, then completes, with delayed at the start of its history', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'later' }, options: { delayMs: 2500 } } });
    expect(response.status).toBe(202);
    expect(response.body.state).toBe('delayed');
    const id = response.body.id as string;

    const first = await api.task(id);
    expect(first).toMatchObject({ state: 'delayed', attempts: 0 });
    expect(first.startedAt).toBeUndefined();
    expect(first.result).toBeUndefined();

    const done = await waitForState(api, id, 'completed');
    expect(done.result).toEqual({ echo: { message: 'later' }, attempt: 1 });
    expect(states(done)[0]).toBe('delayed');
    expect(states(done).at(-1)).toBe('completed');
    expect(states(done)).not.toContain('failed');
    // It did not run before its delay was up.
    expect(Date.parse(done.startedAt) - Date.parse(done.createdAt)).toBeGreaterThanOrEqual(2500 - 50);
  });
});

describe('retries', () => {
  it('exhausted retries end in failed, with the last error, every attempt in the history, and no result', async () => {
    const id = await api.submit('echo', { message: 'doomed', failTimes: 5 });
    const task = await waitForState(api, id, 'failed');

    expect(task).toMatchObject({ attempts: 3, maxAttempts: 3 });
    expect(task.error).toEqual({ code: 'ECHO_PLANNED_FAILURE', class: 'transient', message: 'planned failure 3 of 5', attempt: 3 });
    expect(task.result).toBeUndefined();
    expect(states(task)).toEqual(['queued', 'active', 'delayed', 'active', 'delayed', 'active', 'failed']);
    const attempts = task.history.filter((entry: { state: string }) => entry.state !== 'queued').map((entry: { attempt?: number }) => entry.attempt);
    expect(attempts).toEqual([1, 1, 2, 2, 3, 3]);
    expect(task.history.at(-1).reason).toContain('ECHO_PLANNED_FAILURE');
    expect(task.finishedAt).toBeDefined();
  });

  it('options.attempts lowers the attempts: 1 attempt means no retry', async () => {
    const id = await api.submit('echo', { failTimes: 1 }, { options: { attempts: 1 } });
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ attempts: 1, maxAttempts: 1, error: { code: 'ECHO_PLANNED_FAILURE', attempt: 1 } });
    expect(states(task)).toEqual(['queued', 'active', 'failed']);
  });

  it('options.attempts raises the attempts: 4 attempts outlast 3 failures', async () => {
    const id = await api.submit('echo', { message: 'stubborn', failTimes: 3 }, { options: { attempts: 4 } });
    const task = await waitForState(api, id, 'completed');
    expect(task).toMatchObject({ attempts: 4, maxAttempts: 4, result: { echo: { message: 'stubborn', failTimes: 3 }, attempt: 4 } });
    expect(states(task).filter((state) => state === 'active')).toHaveLength(4);
  });
});

describe('options', () => {
  it('a priority is accepted and the task completes', async () => {
    const id = await api.submit('echo', { message: 'urgent' }, { options: { priority: 1 } });
    const task = await waitForState(api, id, 'completed');
    expect(task.result).toEqual({ echo: { message: 'urgent' }, attempt: 1 });
    expect(states(task)).toEqual(['queued', 'active', 'completed']);
  });

  it('priorities out of range are refused', async () => {
    for (const priority of [0, -1, 2_097_153, 1.5]) {
      const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: {}, options: { priority } } });
      const error = expectError(response, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(error.details)).toContain('priority');
    }
  });

  it('the Location header of a 202 points at a GET that answers the task', async () => {
    const response = await api.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'where' } } });
    expect(response.status).toBe(202);
    const location = response.headers.get('location');
    expect(location).toBe(`/v1/tasks/${response.body.id}`);

    const followed = await api.request('GET', location!);
    expect(followed.status).toBe(200);
    expect(followed.body).toMatchObject({ id: response.body.id, role: 'echo' });
    expect(['queued', 'active', 'completed']).toContain(followed.body.state);
    // Resolved against the API's own URL, as a client following the header would.
    const absolute = await fetch(new URL(location!, api.baseUrl), { headers: { authorization: `Bearer ${TEST_API_KEY.secret}` } });
    expect(absolute.status).toBe(200);
  });
});
