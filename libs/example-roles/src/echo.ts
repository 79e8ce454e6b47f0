import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineRole, TransientTaskError } from '@taskyard/roles';

export const EchoPayloadSchema = z
  .object({
    message: z.string().max(100_000).optional(),
    /** Sleep this long before answering (honours the task's AbortSignal). */
    sleepMs: z.number().int().min(0).max(60_000).optional(),
    /** Fail the first `failTimes` attempts with a transient error. */
    failTimes: z.number().int().min(0).max(100).optional(),
  })
  .strict();

export const EchoResultSchema = z.object({
  echo: EchoPayloadSchema,
  attempt: z.number().int(),
});

/** Returns what it got; sleeps and fails on request. For smoke tests, demos and benchmarks. */
export const echoRole = defineRole({
  name: 'echo',
  description: 'Returns its payload; can sleep (sleepMs) and fail its first attempts (failTimes) on purpose.',
  input: EchoPayloadSchema,
  output: EchoResultSchema,
  concurrency: 50,
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 200, jitter: 0.2 },
  timeoutMs: 90_000,
  handler: async (message, ctx) => {
    const { failTimes = 0, sleepMs = 0 } = message.payload;
    if (ctx.attempt <= failTimes) {
      throw new TransientTaskError(`planned failure ${ctx.attempt} of ${failTimes}`, 'ECHO_PLANNED_FAILURE');
    }
    if (sleepMs > 0) await sleep(sleepMs, undefined, { signal: ctx.signal });
    return { echo: message.payload, attempt: ctx.attempt };
  },
});
