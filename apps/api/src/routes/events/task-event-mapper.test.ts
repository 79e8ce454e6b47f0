import { describe, expect, it } from 'vitest';
import type { TaskStore } from '@taskyard/store';
import { TaskEventMapper } from './task-event-mapper';

/** These events never read the store (failed and removed do: test/api/events.int.test.ts). */
const noStore = {} as TaskStore;

const raw = (name: string, fields: Record<string, unknown> = {}) => ({ id: '1700000000000-1', role: 'echo', name, jobId: 'echo_1', fields });

describe('the task event mapper', () => {
  it('names BullMQ events in task states, with the time of their stream id', async () => {
    const mapper = new TaskEventMapper(noStore);
    const at = new Date(1_700_000_000_000).toISOString();
    expect(await mapper.map(raw('waiting'))).toEqual({ type: 'state', body: { taskId: 'echo_1', role: 'echo', state: 'queued', at } });
    expect((await mapper.map(raw('waiting-children')))?.body).toMatchObject({ state: 'queued' });
    expect((await mapper.map(raw('delayed')))?.body).toMatchObject({ state: 'delayed' });
    expect((await mapper.map(raw('active')))?.body).toMatchObject({ state: 'active' });
    expect((await mapper.map(raw('completed', { returnvalue: { ok: 1 } })))?.body).toMatchObject({ state: 'completed', result: { ok: 1 } });
    expect(await mapper.map(raw('progress', { data: 40 }))).toEqual({ type: 'progress', body: { taskId: 'echo_1', role: 'echo', progress: 40, at } });
    expect(await mapper.map(raw('progress', { data: [1, 2] }))).toBeUndefined();
    expect(await mapper.map(raw('added'))).toBeUndefined();
  });
});
