import { UnrecoverableError } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, parseTaskLog, PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import { DeadLetterStore } from '@taskyard/store';
import { handBackError } from '../breaker/hand-back';
import { AttemptAbort } from '../bullmq-worker';
import { DeadLetterWriter } from '../dead-letter-writer';
import { FailureRecorder } from './failure-recorder';
import { SnoozedError } from './handle-outcome';
import { pipelineFixture } from './pipeline.fixture';

const fixture = pipelineFixture();
afterAll(() => fixture.close());
const store = new DeadLetterStore(fixture.redis, fixture.keys, 60_000);
const recorder = new FailureRecorder(fixture.series, new DeadLetterWriter('greet', store, fixture.queues.get('greet'), fixture.series, fixture.logger));

/** A delivered attempt of a fresh task (attempt `number` of 3). */
async function attemptOf(number = 1, abort = new AttemptAbort()) {
  const message = fixture.message();
  const job = await fixture.job(message);
  Object.assign(job, { attemptsMade: number - 1 });
  const attempt = fixture.attempt(job, abort);
  attempt.message = message;
  return { attempt, message };
}

const logOf = async (id: string) => parseTaskLog((await fixture.queues.get('greet').getJobLogs(id)).logs);
/** The processed counter of `outcome` (0 before its first count: prom-client prints no line for it yet). */
const count = async (outcome: string) =>
  Number(new RegExp(`taskyard_tasks_processed_total\\{role="greet",outcome="${outcome}"\\} (\\d+)`).exec(await fixture.metrics.registry.metrics())?.[1] ?? 0);

describe('the failure recorder', () => {
  it('records a transient failure that will be retried, and hands BullMQ a copy of the error without its stack', async () => {
    const { attempt, message } = await attemptOf(1);
    const error = Object.freeze(new TransientTaskError('downstream hiccup', 'DOWNSTREAM', { retryAfterMs: 1500 }));
    const stack = error.stack;
    const retried = await count('retried');
    const handed = await recorder.failed(attempt, error);
    // The same kind of error with its code and retry delay, but no file paths for BullMQ to store; the original (frozen here) untouched.
    expect(handed).toBeInstanceOf(TransientTaskError);
    expect(handed).toMatchObject({ code: 'DOWNSTREAM', retryAfterMs: 1500, message: 'downstream hiccup', stack: 'TransientTaskError: downstream hiccup' });
    expect(error.stack).toBe(stack);
    expect(await logOf(message.id)).toEqual([
      expect.objectContaining({ kind: 'attempt-failed', attempt: 1, willRetry: true, error: { code: 'DOWNSTREAM', class: 'transient', message: 'downstream hiccup' } }),
    ]);
    expect(await count('retried')).toBe(retried + 1);
    expect(await store.get(message.id)).toBeUndefined();
  });

  it('dead-letters a permanent failure, records it in the job log, and hands BullMQ an UnrecoverableError', async () => {
    const { attempt, message } = await attemptOf(1);
    const mapped = await recorder.failed(attempt, new PermanentTaskError('bad input', 'BAD_INPUT'));
    expect(mapped).toBeInstanceOf(UnrecoverableError);
    expect(mapped).toMatchObject({ message: 'bad input', cause: expect.objectContaining({ code: 'BAD_INPUT' }) });
    expect(await store.get(message.id)).toMatchObject({ reason: 'permanent-error', error: { code: 'BAD_INPUT', class: 'permanent' }, attempts: [expect.objectContaining({ attempt: 1 })] });
    expect(await logOf(message.id)).toEqual([expect.objectContaining({ willRetry: false, error: expect.objectContaining({ code: 'BAD_INPUT' }) })]);
  });

  it('dead-letters the last transient attempt (attempts exhausted), an unknown error as ERROR', async () => {
    const { attempt, message } = await attemptOf(3);
    const error = new Error('boom');
    expect(await recorder.failed(attempt, error)).toMatchObject({ name: 'Error', message: 'boom', stack: 'Error: boom' });
    expect(await store.get(message.id)).toMatchObject({ reason: 'attempts-exhausted', error: { code: 'ERROR', class: 'transient', message: 'boom' } });
  });

  it('counts a cancellation as cancelled, with no dead letter', async () => {
    const { attempt, message } = await attemptOf(1);
    const cancelled = await count('cancelled');
    expect(await recorder.failed(attempt, new CancelledError())).toBeInstanceOf(UnrecoverableError);
    expect(await count('cancelled')).toBe(cancelled + 1);
    expect(await store.get(message.id)).toBeUndefined();
    expect((await logOf(message.id))[0]).toMatchObject({ error: { code: 'CANCELLED' } });
  });

  it('hands a circuit hand back on untouched, unless the attempt was cancelled meanwhile', async () => {
    const untouched = await attemptOf(1);
    const handBack = handBackError();
    expect(await recorder.failed(untouched.attempt, handBack)).toBe(handBack);
    expect(await logOf(untouched.message.id)).toEqual([]);

    const abort = new AttemptAbort();
    const cancelled = await attemptOf(1, abort);
    abort.abort(new CancelledError());
    expect(await recorder.failed(cancelled.attempt, handBackError())).toBeInstanceOf(UnrecoverableError);
    expect((await logOf(cancelled.message.id))[0]).toMatchObject({ error: { code: 'CANCELLED' } });
  });

  it('records a snooze in the task log and hands BullMQ its DelayedError untouched', async () => {
    const { attempt, message } = await attemptOf(2);
    await recorder.snoozed(attempt, 250, 'later');
    expect(await logOf(message.id)).toEqual([expect.objectContaining({ kind: 'snoozed', attempt: 2, delayMs: 250, reason: 'later' })]);
    const snoozed = new SnoozedError(250, 'later');
    expect(await recorder.failed(attempt, snoozed)).toBe(snoozed);
  });
});
