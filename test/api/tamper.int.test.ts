import { describe, expect, it } from 'vitest';
import { TaskyardKeys } from '@taskyard/store';
import { usePlatform, useRoleQueue } from '../support/platform';
import { waitFor } from '../support/wait-for';
import { metricValue, waitForState } from './helpers';

const { api, worker, env } = usePlatform({ ROLES: 'echo' });
const keys = new TaskyardKeys(env['QUEUE_PREFIX']!);
const { redis, queue } = useRoleQueue(env, 'echo');

/** Submits an echo task that waits (delayed) long enough for the test to edit it in Redis. */
async function submitParked(payload: Record<string, unknown>): Promise<string> {
  const id = await api.submit('echo', payload, { options: { delayMs: 600_000 } });
  expect((await api.task(id)).state).toBe('delayed');
  return id;
}

/** Rewrites the job's data hash field in place, keeping the signature the API wrote. */
async function tamper(id: string, change: (envelope: any) => void): Promise<void> {
  const key = keys.job(id);
  const raw = await redis.hget(key, 'data');
  expect(raw, `job hash ${key}`).toBeTruthy();
  const envelope = JSON.parse(raw!);
  const signature = JSON.stringify(envelope.signature);
  change(envelope);
  expect(JSON.stringify(envelope.signature)).toBe(signature);
  await redis.hset(key, 'data', JSON.stringify(envelope));
}

async function promote(id: string): Promise<void> {
  const job = await queue.getJob(id);
  await job!.promote();
}

async function echoMetrics(): Promise<{ completed: number; failed: number; retried: number }> {
  const text = await worker.metrics();
  const value = (outcome: string) => metricValue(text, 'taskyard_tasks_processed_total', { role: 'echo', outcome }) ?? 0;
  return { completed: value('completed'), failed: value('failed'), retried: value('retried') };
}

describe('a job altered in Redis', () => {
  it('whose payload was changed fails at once with SIGNATURE_INVALID, after one attempt, and its handler never runs', async () => {
    const before = await echoMetrics();
    const id = await submitParked({ message: 'pay 10 EUR to alice' });
    await tamper(id, (envelope) => {
      envelope.payload.message = 'pay 10000 EUR to mallory';
    });
    await promote(id);

    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ attempts: 1, maxAttempts: 3, error: { code: 'SIGNATURE_INVALID', attempt: 1 } });
    expect(task.error.message).toContain(id);
    expect(task.result).toBeUndefined();
    expect(task.history.map((entry: { state: string }) => entry.state)).toEqual(['delayed', 'active', 'failed']);

    // The handler would have completed (the tampered payload is valid for echo); it never did.
    const after = await waitFor('the failure in the worker metrics', async () => {
      const metrics = await echoMetrics();
      return metrics.failed > before.failed ? metrics : undefined;
    });
    expect(after).toEqual({ completed: before.completed, failed: before.failed + 1, retried: before.retried });
    expect((await queue.getJob(id))!.returnvalue).toBeNull();

    const logged = await worker.waitForLog('the signature failure', (line) => line['taskId'] === id && line.msg === 'task failed');
    expect(logged).toMatchObject({ role: 'echo', code: 'SIGNATURE_INVALID', willRetry: false });
  });

  it('whose metadata was changed (a forged source) fails the same way', async () => {
    const id = await submitParked({ message: 'harmless' });
    await tamper(id, (envelope) => {
      envelope.metadata.source = 'role:admin';
    });
    await promote(id);
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ attempts: 1, maxAttempts: 3, error: { code: 'SIGNATURE_INVALID' } });
  });

  it('whose signature names an unknown key fails the same way', async () => {
    const id = await submitParked({ message: 'harmless' });
    const key = keys.job(id);
    const envelope = JSON.parse((await redis.hget(key, 'data'))!);
    envelope.signature.kid = 'attacker-key';
    await redis.hset(key, 'data', JSON.stringify(envelope));
    await promote(id);
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ attempts: 1, error: { code: 'SIGNATURE_INVALID' } });
  });

  it('that is no task envelope at all fails at once with SCHEMA_INVALID', async () => {
    const id = await submitParked({ message: 'harmless' });
    await redis.hset(keys.job(id), 'data', JSON.stringify({ role: 'echo', payload: { message: 'no signature' } }));
    await promote(id);
    const job = await waitFor('the job to fail', async () => {
      const current = await queue.getJob(id);
      return current?.finishedOn ? current : undefined;
    });
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('not a valid task envelope');
    // The API still reads it (from BullMQ's own fields), rather than failing with a 500.
    const task = await waitForState(api, id, 'failed');
    expect(task).toMatchObject({ id, role: 'echo', attempts: 1, maxAttempts: 3, correlationId: id, error: { code: 'SCHEMA_INVALID', attempt: 1 } });
  });

  it('an untouched job promoted the same way completes (the control)', async () => {
    const before = await echoMetrics();
    const id = await submitParked({ message: 'pay 10 EUR to alice' });
    await promote(id);
    const task = await waitForState(api, id, 'completed');
    expect(task.result).toEqual({ echo: { message: 'pay 10 EUR to alice' }, attempt: 1 });
    expect((await echoMetrics()).completed).toBe(before.completed + 1);
  });
});
