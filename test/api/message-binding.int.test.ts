import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TASK_SCHEMA_VERSION, type TaskEnvelope } from '@taskyard/contracts';
import { MessageSigner } from '@taskyard/crypto';
import { jobOptionsFor, TaskyardKeys } from '@taskyard/store';
import { usePlatform, useRoleQueue } from '../support/platform';
import { TEST_SIGNING_KEY } from '../support/test-env';
import { metricValue, waitForState } from './helpers';

const { api, worker, env } = usePlatform({ ROLES: 'echo' });
const prefix = env['QUEUE_PREFIX']!;
const { redis, queue } = useRoleQueue(env, 'echo');
const signer = new MessageSigner([TEST_SIGNING_KEY]);

/** A message signed with the deployment's key, as only a key holder can make one, dated `createdAt`. */
function signedEcho(createdAt: Date, payload: unknown = { message: 'hi' }): TaskEnvelope {
  const id = `echo_${randomUUID()}`;
  const content = {
    createdAt: createdAt.toISOString(),
    id,
    metadata: { causationId: null, correlationId: id, labels: {}, owner: 'test', source: 'api:test' },
    payload,
    role: 'echo',
    schemaVersion: TASK_SCHEMA_VERSION,
  };
  return { ...content, signature: signer.sign(content) };
}

async function enqueue(jobId: string, data: unknown): Promise<void> {
  await queue.add('echo', data, jobOptionsFor({ attempts: 3, backoff: { type: 'exponential', delayMs: 100, jitter: 0 } }, jobId, { ageSeconds: 600, count: 1000 }));
}

async function refusals(reason: string): Promise<number> {
  return metricValue(await worker.metrics(), 'taskyard_messages_refused_total', { role: 'echo', reason }) ?? 0;
}

describe('a signed message is bound to its job and to its time', () => {
  it('refuses a completed task’s message copied under a new job id: never run, failed permanently, dead-lettered, counted', async () => {
    const original = await api.submit('echo', { message: 'once' });
    await waitForState(api, original, 'completed');
    const data = JSON.parse((await redis.hget(new TaskyardKeys(prefix).job(original), 'data'))!);
    const copy = `echo_${randomUUID()}`;
    const before = await refusals('JOB_ID_MISMATCH');
    await enqueue(copy, data);
    const view = await waitForState(api, copy, 'failed');
    expect(view).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'JOB_ID_MISMATCH', class: 'permanent' } });
    expect(view.result).toBeUndefined();
    expect((await api.request('GET', `/v1/dead-letters/${copy}`)).body).toMatchObject({ reason: 'permanent-error', error: { code: 'JOB_ID_MISMATCH' } });
    expect(await refusals('JOB_ID_MISMATCH')).toBe(before + 1);
  });

  it('refuses a message older than its role’s maximum age, and one dated past the clock skew in the future', async () => {
    const old = signedEcho(new Date(Date.now() - 30 * 86_400_000));
    const future = signedEcho(new Date(Date.now() + 10 * 60_000));
    const fine = signedEcho(new Date(Date.now() - 60_000));
    await enqueue(old.id, old);
    await enqueue(future.id, future);
    await enqueue(fine.id, fine);
    expect(await waitForState(api, old.id, 'failed')).toMatchObject({ error: { code: 'MESSAGE_EXPIRED', class: 'permanent' } });
    expect(await waitForState(api, future.id, 'failed')).toMatchObject({ error: { code: 'MESSAGE_FROM_FUTURE', class: 'permanent' } });
    expect(await waitForState(api, fine.id, 'completed')).toMatchObject({ state: 'completed' });
    expect(await refusals('MESSAGE_EXPIRED')).toBe(1);
    expect(await refusals('MESSAGE_FROM_FUTURE')).toBe(1);
  });

  it('refuses a signature spelled another way (upper-case hex, trailing characters) though the bytes match', async () => {
    for (const spell of [(value: string) => value.toUpperCase(), (value: string) => `${value}zz`]) {
      const message = signedEcho(new Date());
      await enqueue(message.id, { ...message, signature: { ...message.signature, value: spell(message.signature.value) } });
      expect(await waitForState(api, message.id, 'failed')).toMatchObject({ error: { code: 'SIGNATURE_INVALID' } });
    }
  });
});
