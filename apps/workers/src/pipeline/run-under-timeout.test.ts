import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, TaskTimeoutError } from '@taskyard/contracts';
import { AttemptAbort } from '../bullmq-worker';
import { runUnderTimeout } from './run-under-timeout';

describe('step 5: the run under timeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers what the work answers, and clears its timer', async () => {
    vi.useFakeTimers();
    const abort = new AttemptAbort();
    expect(await runUnderTimeout(50, abort, async () => 'done')).toBe('done');
    // The timer is gone: past the timeout, the abort has not fired.
    await vi.advanceTimersByTimeAsync(100);
    expect(abort.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends at the timeout with a TaskTimeoutError even if the work ignores the signal, and fires the handler signal', async () => {
    vi.useFakeTimers();
    const abort = new AttemptAbort();
    const signal = abort.toAbortSignal();
    const running = runUnderTimeout(30, abort, () => new Promise(() => undefined)).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(29);
    expect(signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await running;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(error);
  });

  it('ends at once when the attempt is cancelled, with the cancellation as the reason', async () => {
    const abort = new AttemptAbort();
    const running = runUnderTimeout(60_000, abort, () => new Promise(() => undefined));
    abort.abort(new CancelledError());
    await expect(running).rejects.toBeInstanceOf(CancelledError);
  });

  it('does not start the work when the abort came first, and a handler signal read late is already aborted', async () => {
    const abort = new AttemptAbort();
    abort.abort(new CancelledError());
    let started = false;
    await expect(runUnderTimeout(1000, abort, async () => (started = true))).rejects.toBeInstanceOf(CancelledError);
    expect(started).toBe(false);
    expect(abort.toAbortSignal().aborted).toBe(true);
  });

  it('reports the abort reason, not the AbortError, of work that gave up on its signal', async () => {
    const abort = new AttemptAbort();
    const running = runUnderTimeout(60_000, abort, () => sleep(60_000, undefined, { signal: abort.toAbortSignal() }));
    abort.abort(new CancelledError('stop'));
    await expect(running).rejects.toMatchObject({ message: 'stop' });
  });

  it('passes a synchronous throw on as the attempt\'s error', async () => {
    await expect(
      runUnderTimeout(1000, new AttemptAbort(), () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });
});
