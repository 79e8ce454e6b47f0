import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { FAST_RECOVERY, trySubmit, waitAllCompleted, type SubmitOutcome } from './helpers';

/**
 * Redis as the system of record: 2000 submissions, 100 in flight, while redis-server is
 * SIGKILLed and restarted under them. Each submission is retried on 503 (as a client honouring
 * Retry-After would), so every one is eventually accepted. With AOF `appendfsync always` every
 * task that got a 202 must survive and complete; the same run without persistence must lose the
 * tasks accepted before the crash: that is what tells the two apart.
 */
const TOTAL = 2000;
const IN_FLIGHT = 100;
/** Accepted before the crash, at least. */
const KILL_AFTER = 400;

type Phase = 'before' | 'outage' | 'after';

interface Accepted {
  id: string;
  /** When the 202 arrived: before the kill was issued, while Redis was down or restarting, or after it was back. */
  phase: Phase;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function crashUnderLoad(appendfsync: 'always' | 'off'): Promise<{ api: ApiServer; accepted: Accepted[]; unexpected: SubmitOutcome[] }> {
  const redis = await new RedisServer({ appendfsync }).start();
  cleanups.push(() => redis.destroy());
  const env = testEnv({ ...FAST_RECOVERY, REDIS_URL: redis.url, ROLES: 'echo' });
  const api = await new ApiServer(env).start();
  cleanups.push(() => api.stop());
  const worker = await new WorkerProcess(env).start();
  cleanups.push(() => worker.stop());

  let phase: Phase = 'before';
  const accepted: Accepted[] = [];
  const unexpected: SubmitOutcome[] = [];

  const crash = (async () => {
    await waitFor('tasks to be accepted before the crash', () => accepted.length >= KILL_AFTER, { timeoutMs: 30_000, intervalMs: 5 });
    phase = 'outage';
    await redis.kill();
    await sleep(500);
    await redis.start();
    phase = 'after';
  })();

  let next = 0;
  const submitters = Array.from({ length: IN_FLIGHT }, async () => {
    while (next < TOTAL) {
      const n = next++;
      for (;;) {
        const outcome = await trySubmit(api, { role: 'echo', payload: { message: `task-${n}` } });
        if (outcome.status === 202) {
          accepted.push({ id: outcome.id!, phase });
          break;
        }
        if (outcome.status !== 503 || outcome.code !== 'REDIS_UNAVAILABLE' || !outcome.retryAfter) {
          unexpected.push(outcome);
          break;
        }
        await sleep(100);
      }
    }
  });
  await Promise.all([crash, ...submitters]);
  return { api, accepted, unexpected };
}

describe('redis-server SIGKILLed under 2000 concurrent submissions', () => {
  it('with AOF appendfsync always: every task that got a 202 survives the crash and completes', async () => {
    const { api, accepted, unexpected } = await crashUnderLoad('always');

    expect(unexpected).toEqual([]);
    expect(accepted).toHaveLength(TOTAL);
    expect(accepted.filter((task) => task.phase === 'before').length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(accepted.filter((task) => task.phase === 'after').length).toBeGreaterThan(0);
    expect(new Set(accepted.map((task) => task.id)).size).toBe(TOTAL);
    await waitAllCompleted(
      api,
      accepted.map((task) => task.id),
      60_000,
    );
  });

  it('without persistence: the same crash loses every task accepted before it (the loss the first test rules out)', async () => {
    const { api, accepted, unexpected } = await crashUnderLoad('off');

    expect(unexpected).toEqual([]);
    expect(accepted).toHaveLength(TOTAL);
    const before = accepted.filter((task) => task.phase === 'before');
    expect(before.length).toBeGreaterThanOrEqual(KILL_AFTER);
    const survivors: string[] = [];
    for (const task of before) if ((await api.task(task.id)) !== undefined) survivors.push(task.id);
    expect(survivors).toEqual([]);
    // Tasks accepted once Redis was back are kept and run as usual.
    await waitAllCompleted(
      api,
      accepted.filter((task) => task.phase === 'after').map((task) => task.id),
      60_000,
    );
  });
});
