import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { newTaskId, PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import { ledgerTimings, OnceClaims, TaskyardKeys } from '@taskyard/store';
import { EffectInDoubtError, EffectInProgressError, runOnce, type OnceScope } from '../../apps/workers/src/once/run-once';
import { deletePrefix, testEnv } from '../support/test-env';

const env = testEnv();
const redis = new Redis(env['REDIS_URL']!);
const keys = new TaskyardKeys(env['QUEUE_PREFIX']!);
const claims = new OnceClaims(redis, keys);

/** A scope for a fresh message; a second scope of the same message plays another replica. */
function scopeOf(taskId = newTaskId('echo'), holdMs = 10_000): OnceScope {
  return { claims, taskId, holdMs, ttlMs: 60_000 };
}

afterAll(async () => {
  redis.disconnect();
  await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

describe('runOnce (ctx.once)', () => {
  it('runs fn once per message and key; later calls get the stored JSON result without running it', async () => {
    const scope = scopeOf();
    let runs = 0;
    const fn = async () => ({ run: ++runs, at: new Date(0) });
    const first = await runOnce(scope, 'charge', fn);
    const again = await runOnce({ ...scope }, 'charge', fn);
    expect(runs).toBe(1);
    // Every caller sees the value as stored (JSON): the first one too.
    expect(first).toEqual({ run: 1, at: '1970-01-01T00:00:00.000Z' });
    expect(again).toEqual(first);
    // Another key, or another message, is another effect.
    expect(await runOnce(scope, 'e-mail', fn)).toMatchObject({ run: 2 });
    expect(await runOnce(scopeOf(), 'charge', fn)).toMatchObject({ run: 3 });
  });

  it('keeps undefined results as undefined', async () => {
    const scope = scopeOf();
    let runs = 0;
    expect(await runOnce(scope, 'k', () => void runs++)).toBeUndefined();
    expect(await runOnce(scope, 'k', () => void runs++)).toBeUndefined();
    expect(runs).toBe(1);
  });

  it('a caller finding the effect claimed and unfinished gets EFFECT_IN_PROGRESS (transient) while the holder may be alive', async () => {
    const scope = scopeOf();
    let release!: () => void;
    const holding = runOnce(scope, 'slow', () => new Promise<string>((resolve) => (release = () => resolve('held'))));
    await expect.poll(() => redis.exists(keys.once(scope.taskId, 'slow'))).toBe(1);

    let ranSecond = false;
    const second = await runOnce({ ...scope }, 'slow', () => (ranSecond = true)).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(EffectInProgressError);
    expect(second).toBeInstanceOf(TransientTaskError);
    expect((second as EffectInProgressError).code).toBe('EFFECT_IN_PROGRESS');
    expect(ranSecond).toBe(false);

    release();
    expect(await holding).toBe('held');
    expect(await runOnce({ ...scope }, 'slow', () => 'never')).toBe('held');
  });

  it('a claim left unfinished past the hold time is EFFECT_IN_DOUBT (permanent): fn is not run again', async () => {
    // The holder "died" inside fn: its claim stays, and nobody finishes it.
    const holder = scopeOf(undefined, 50);
    void runOnce(holder, 'pay', () => new Promise(() => undefined));
    await expect.poll(() => redis.exists(keys.once(holder.taskId, 'pay'))).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));

    let ran = false;
    const error = await runOnce({ ...holder, holdMs: 10_000 }, 'pay', () => (ran = true)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EffectInDoubtError);
    expect(error).toBeInstanceOf(PermanentTaskError);
    expect((error as EffectInDoubtError).code).toBe('EFFECT_IN_DOUBT');
    expect(ran).toBe(false);
  });

  it('when fn throws, the effect counts as not done: the error is rethrown and a later call runs fn', async () => {
    const scope = scopeOf();
    await expect(runOnce(scope, 'flaky', () => Promise.reject(new Error('downstream said no')))).rejects.toThrow('downstream said no');
    expect(await redis.exists(keys.once(scope.taskId, 'flaky'))).toBe(0);
    expect(await runOnce(scope, 'flaky', () => 'second try')).toBe('second try');
  });

  it('refuses empty and oversized keys with a permanent error, before touching Redis', async () => {
    for (const key of ['', 'x'.repeat(201)]) {
      const error = await runOnce(scopeOf(), key, () => 1).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(PermanentTaskError);
      expect((error as PermanentTaskError).code).toBe('ONCE_KEY_INVALID');
    }
  });

  it('a result that is not JSON still marks the effect done (ONCE_RESULT_NOT_JSON), so it never runs twice', async () => {
    const scope = scopeOf();
    let runs = 0;
    const fn = () => {
      runs += 1;
      return 10n;
    };
    await expect(runOnce(scope, 'big', fn)).rejects.toMatchObject({ code: 'ONCE_RESULT_NOT_JSON' });
    expect(await runOnce(scope, 'big', fn)).toBeUndefined();
    expect(runs).toBe(1);
  });
});

describe('ledgerTimings', () => {
  const config = { worker: { lockDurationMs: 30_000, stalledIntervalMs: 30_000 }, retention: { ageSeconds: 86_400, count: 1000 }, deadLetterTtlMs: 7 * 86_400_000, idempotencyTtlMs: 86_400_000 };

  it('covers every attempt held to its limit, a stall and the whole backoff series', () => {
    const timings = ledgerTimings({ timeoutMs: 10_000, backoff: { type: 'exponential', delayMs: 1000, jitter: 0.2 } }, 3, config);
    expect(timings.holdMs).toBe(10_000 + 30_000 + 30_000);
    // 4 × 70 s (3 attempts + 1 stall) + 1 s + 2 s of backoff.
    expect(timings.ttlMs).toBe(4 * 70_000 + 3000);
  });

  it('does not grow with the retention age (memory would grow with throughput × a day), and never outlives the longest record lifetime', () => {
    const role = { timeoutMs: 1000, backoff: { type: 'exponential' as const, delayMs: 0, jitter: 0 } };
    expect(ledgerTimings(role, 1, config).ttlMs).toBe(2 * 61_000);
    // 100 attempts a day apart once made a record live 399 days: now the longest of retention, DEAD_LETTER_TTL and IDEMPOTENCY_TTL.
    const huge = ledgerTimings({ ...role, backoff: { type: 'exponential', delayMs: 86_400_000, jitter: 0 } }, 100, config).ttlMs;
    expect(huge).toBe(7 * 86_400_000);
    expect(ledgerTimings({ ...role, backoff: { type: 'exponential', delayMs: 86_400_000, jitter: 0 } }, 100, { ...config, idempotencyTtlMs: 30 * 86_400_000 }).ttlMs).toBe(30 * 86_400_000);
  });
});
