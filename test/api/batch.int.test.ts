import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for';
import { usePlatform } from '../support/platform';
import { expectError, roleCounts, totalJobs } from './helpers';

const { api } = usePlatform({ ROLES: 'echo' });

const echo = (message: string, extra: Record<string, unknown> = {}) => ({ role: 'echo', payload: { message, ...extra } });

describe('POST /v1/tasks/batch', () => {
  it('accepts 500 tasks in one request, answers their ids in order, and all of them complete', async () => {
    const tasks = Array.from({ length: 500 }, (_, index) => echo(`item-${index}`));
    const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks } });

    expect(response.status).toBe(202);
    const accepted = response.body.tasks as { id: string; role: string; state: string }[];
    expect(accepted).toHaveLength(500);
    expect(new Set(accepted.map((task) => task.id)).size).toBe(500);
    for (const task of accepted) expect(task).toEqual({ id: expect.any(String), role: 'echo', state: 'queued' });

    await waitFor('all 500 to complete', async () => (await roleCounts(api, 'echo')).completed === 500, { timeoutMs: 45_000, intervalMs: 200 });

    // The i-th id answers the i-th task: its result carries the i-th message.
    const views: any[] = [];
    for (let start = 0; start < accepted.length; start += 50) {
      views.push(...(await Promise.all(accepted.slice(start, start + 50).map((task) => api.task(task.id)))));
    }
    views.forEach((view, index) => {
      expect(view).toMatchObject({ id: accepted[index]!.id, state: 'completed', result: { echo: { message: `item-${index}` }, attempt: 1 } });
    });
    expect(await roleCounts(api, 'echo')).toMatchObject({ queued: 0, delayed: 0, active: 0, failed: 0, completed: 500 });
  });

  it('accepts tasks with their own options and metadata', async () => {
    const response = await api.request('POST', '/v1/tasks/batch', {
      body: {
        tasks: [
          { ...echo('plain') },
          { ...echo('later'), options: { delayMs: 60_000 } },
          { ...echo('tagged'), metadata: { correlationId: 'batch-corr', labels: { team: 'qa' } }, options: { priority: 3, attempts: 1 } },
        ],
      },
    });
    expect(response.status).toBe(202);
    expect(response.body.tasks.map((task: { state: string }) => task.state)).toEqual(['queued', 'delayed', 'queued']);
    const tagged = await waitFor('the tagged task to complete', async () => {
      const view = await api.task(response.body.tasks[2].id);
      return view?.state === 'completed' ? view : undefined;
    });
    expect(tagged).toMatchObject({ correlationId: 'batch-corr', maxAttempts: 1 });
    expect((await api.task(response.body.tasks[1].id)).state).toBe('delayed');
  });

  describe('one bad item rejects the whole batch, and nothing is enqueued', () => {
    const cases: [string, unknown[], number, string][] = [
      [
        'a bad payload',
        [echo('a'), echo('b'), echo('c'), echo('d'), echo('e'), echo('f'), echo('g'), { role: 'echo', payload: { sleepMs: 'x' } }, echo('i')],
        7,
        'tasks.7.payload.sleepMs',
      ],
      ['an unknown role', [echo('a'), echo('b'), echo('c'), { role: 'no-such-role', payload: {} }, echo('e')], 3, 'tasks.3.role'],
      ['a bad option', [echo('a'), { ...echo('b'), options: { attempts: 0 } }, echo('c')], 1, 'tasks.1.options.attempts'],
      ['a bad last item of 1000', [...Array.from({ length: 999 }, (_, i) => echo(`x${i}`)), { role: 'echo', payload: { failTimes: -1 } }], 999, 'tasks.999.payload.failTimes'],
    ];

    it.each(cases)('%s', async (_what, tasks, index, field) => {
      const before = await totalJobs(api);
      const response = await api.request('POST', '/v1/tasks/batch', { body: { tasks } });
      const error = expectError(response, 400, 'VALIDATION_FAILED');
      const details = error.details as { index?: number; field: string }[];
      expect(details.length).toBeGreaterThan(0);
      // Item-level errors carry the index; schema-level ones name it in the field path.
      expect(details.some((detail) => detail.index === index || detail.field.includes(`tasks.${index}.`))).toBe(true);
      expect(details.some((detail) => detail.field.endsWith(field))).toBe(true);
      expect(`${error.message} ${JSON.stringify(details)}`).toContain(String(index));
      expect(await totalJobs(api)).toBe(before);
    });
  });

  it('refuses 1001 tasks', async () => {
    const before = await totalJobs(api);
    const tasks = Array.from({ length: 1001 }, (_, index) => echo(`too-many-${index}`));
    const error = expectError(await api.request('POST', '/v1/tasks/batch', { body: { tasks } }), 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(error.details)).toContain('tasks');
    expect(await totalJobs(api)).toBe(before);
  });

  it('refuses an empty batch, a missing list and a list that is not a list', async () => {
    for (const body of [{ tasks: [] }, {}, { tasks: echo('single') }]) {
      const error = expectError(await api.request('POST', '/v1/tasks/batch', { body }), 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(error.details)).toContain('tasks');
    }
  });
});
