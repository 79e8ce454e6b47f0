import { Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, PermanentTaskError } from '@taskyard/contracts';
import { cancel, MAX_SNOOZES, snooze } from '@taskyard/roles';
import { handleOutcome, SnoozedError } from './handle-outcome';
import { pipelineFixture } from './pipeline.fixture';

/** Outcomes other than fan-out never call it. */
const noFanOut = (): Promise<never> => Promise.reject(new Error('no fan-out expected'));

const fixture = pipelineFixture();
afterAll(() => fixture.close());

/** A job of the role made active (locked with a token) as a worker takes it. */
async function activeAttempt() {
  await fixture.job();
  const token = 'worker-token';
  const taker = new Worker('greet', null, { connection: fixture.redis, prefix: fixture.keys.queuePrefix('greet'), autorun: false });
  try {
    const job = (await taker.getNextJob(token))!;
    return { job, attempt: Object.assign(fixture.attempt(job), { token }) };
  } finally {
    await taker.close();
  }
}

describe('step 6: what a handler returned', () => {
  const recorded: { delayMs: number; reason: string | undefined }[] = [];
  const failures = { snoozed: async (_attempt: unknown, delayMs: number, reason: string | undefined) => void recorded.push({ delayMs, reason }) };

  it('passes a result through', async () => {
    const { attempt } = await activeAttempt();
    expect(await handleOutcome(attempt, { greeting: 'hi' }, failures, noFanOut)).toEqual({ greeting: 'hi' });
  });

  it('ends the task as cancelled, with the reason, for ctx.cancel', async () => {
    const { attempt } = await activeAttempt();
    const error = await handleOutcome(attempt, cancel('customer left'), failures, noFanOut).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toContain('customer left');
  });

  it('snoozes: records it, moves the job to delayed without spending an attempt, and tells BullMQ to leave it', async () => {
    const { job, attempt } = await activeAttempt();
    const error = await handleOutcome(attempt, snooze(5000, 'not ready'), failures, noFanOut).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SnoozedError);
    expect(recorded.at(-1)).toEqual({ delayMs: 5000, reason: 'not ready' });
    const queue = fixture.queues.get('greet');
    expect(await queue.getJobState(job.id!)).toBe('delayed');
    const after = (await queue.getJob(job.id!))!;
    expect(after.attemptsMade).toBe(0);
    expect(after.delay).toBeGreaterThan(4000);
    expect(after.delay).toBeLessThanOrEqual(5000);
  });

  it(`refuses a snooze past ${MAX_SNOOZES} deliveries that spent no attempt (SNOOZE_LIMIT)`, async () => {
    const { attempt } = await activeAttempt();
    Object.assign(attempt.job, { attemptsStarted: MAX_SNOOZES + 1, attemptsMade: 0 });
    const error = await handleOutcome(attempt, snooze(10), failures, noFanOut).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect(error).toMatchObject({ code: 'SNOOZE_LIMIT' });
  });

  it('does not count the deliveries a fair role deferred for its tenant as snoozes', async () => {
    const { attempt } = await activeAttempt();
    Object.assign(attempt.job, { attemptsStarted: MAX_SNOOZES + 1, attemptsMade: 0 });
    const error = await handleOutcome(attempt, snooze(10), failures, noFanOut, async () => 5).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SnoozedError);
  });
});
