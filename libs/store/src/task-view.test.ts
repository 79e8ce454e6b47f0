import { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { newTaskId, TASK_SCHEMA_VERSION, type AttemptRecord, type SnoozeRecord } from '@taskyard/contracts';
import { toTaskView } from './task-view';

const t0 = Date.parse('2026-12-01T10:00:00.000Z');
const queue = { name: 'echo', opts: {}, keys: {}, toKey: () => '', client: Promise.resolve() } as never;

/** A job as BullMQ stores it (its hash's fields), for task `id`. */
function job(fields: Record<string, string | number>, id = newTaskId('echo')): Job {
  const data = {
    createdAt: new Date(t0).toISOString(),
    id,
    metadata: { causationId: null, correlationId: 'corr-1', labels: {}, source: 'api:test' },
    payload: {},
    role: 'echo',
    schemaVersion: TASK_SCHEMA_VERSION,
    signature: { kid: 'k', alg: 'HMAC-SHA256', value: '0'.repeat(64) },
  };
  const raw = { name: 'echo', data: JSON.stringify(data), opts: JSON.stringify({ attempts: 3 }), timestamp: t0, delay: 0, priority: 0, atm: 0, ...fields };
  return Job.fromJSON(queue, Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, String(value)])) as never, id);
}

const failure = (attempt: number, at: number, willRetry: boolean, code = 'E'): string =>
  JSON.stringify({ kind: 'attempt-failed', attempt, startedAt: at, failedAt: at + 5, willRetry, error: { code, class: 'transient', message: 'no' } } satisfies AttemptRecord);
const snoozed = (attempt: number, at: number, delayMs: number): string =>
  JSON.stringify({ kind: 'snoozed', attempt, startedAt: at, snoozedAt: at + 5, delayMs, reason: 'not yet' } satisfies SnoozeRecord);
const states = (view: { history: { state: string }[] } | undefined) => view?.history.map((entry) => entry.state);

describe('the task view', () => {
  it('is queued, then active, then completed with its result, from BullMQ fields alone', () => {
    expect(toTaskView(job({}), 'waiting', [])).toMatchObject({ state: 'queued', attempts: 0, correlationId: 'corr-1', history: [{ state: 'queued' }] });
    const done = toTaskView(job({ processedOn: t0 + 10, finishedOn: t0 + 20, atm: 1, returnvalue: '{"ok":true}' }), 'completed', []);
    expect(done).toMatchObject({ state: 'completed', result: { ok: true }, attempts: 1, finishedAt: new Date(t0 + 20).toISOString() });
    expect(states(done)).toEqual(['queued', 'active', 'completed']);
  });

  it('shows every failed attempt in its history, and the last error when failed', () => {
    const logs = [failure(1, t0 + 10, true), failure(2, t0 + 100, true), failure(3, t0 + 300, false, 'LAST')];
    const view = toTaskView(job({ processedOn: t0 + 300, finishedOn: t0 + 305, atm: 3, failedReason: 'no' }), 'failed', logs);
    expect(states(view)).toEqual(['queued', 'active', 'delayed', 'active', 'delayed', 'active', 'failed']);
    expect(view).toMatchObject({ state: 'failed', error: { code: 'LAST', attempt: 3 }, attempts: 3 });
  });

  it('shows a snooze as delayed, no attempt spent, then the same attempt again', () => {
    const view = toTaskView(job({ processedOn: t0 + 400, finishedOn: t0 + 410, atm: 1, returnvalue: '1' }), 'completed', [snoozed(1, t0 + 10, 300)]);
    expect(view?.history).toEqual([
      expect.objectContaining({ state: 'queued' }),
      expect.objectContaining({ state: 'active', attempt: 1 }),
      expect.objectContaining({ state: 'delayed', attempt: 1, reason: expect.stringMatching(/^SNOOZED: run again in 300 ms \(not yet\)/) }),
      expect.objectContaining({ state: 'active', attempt: 1 }),
      expect.objectContaining({ state: 'completed', attempt: 1 }),
    ]);
    // Waiting again after its snooze: queued, from the moment the snooze ended.
    const waiting = toTaskView(job({ processedOn: t0 + 10 }), 'waiting', [snoozed(1, t0 + 10, 300)]);
    expect(waiting?.history.at(-1)).toEqual({ state: 'queued', at: new Date(t0 + 315).toISOString() });
  });

  it('reads failed, with the record\'s time as its end, when the last record is in but BullMQ has not failed the job yet', () => {
    const view = toTaskView(job({ processedOn: t0 + 10, atm: 0 }), 'active', [failure(1, t0 + 10, false)]);
    expect(view).toMatchObject({ state: 'failed', finishedAt: new Date(t0 + 15).toISOString() });
  });

  it('reads cancelled for an attempt that ended CANCELLED, with no error', () => {
    const view = toTaskView(job({ processedOn: t0 + 10, finishedOn: t0 + 20, atm: 1 }), 'failed', [failure(1, t0 + 10, false, 'CANCELLED')]);
    expect(view).toMatchObject({ state: 'cancelled' });
    expect(view?.error).toBeUndefined();
  });

  it('is shown from BullMQ fields for data that is no envelope (altered in Redis), and absent for a job that is gone', () => {
    const altered = job({ data: JSON.stringify({ hello: 'world' }) });
    expect(toTaskView(altered, 'waiting', [])).toMatchObject({ state: 'queued', role: 'echo' });
    expect(toTaskView(job({}), 'unknown', [])).toBeUndefined();
  });
});
