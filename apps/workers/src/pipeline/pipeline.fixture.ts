import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { z } from 'zod';
import { newTaskId, type TaskMessage } from '@taskyard/contracts';
import { createMessage, MessageSigner } from '@taskyard/crypto';
import { createLogger } from '@taskyard/observability';
import { defineRole, type AnyRole } from '@taskyard/roles';
import { jobOptionsFor, MessageRecords, RoleQueues, TaskyardKeys } from '@taskyard/store';
import { AttemptAbort } from '../bullmq-worker';
import { WorkerMetrics } from '../worker-metrics';
import { Attempt } from './attempt';

/**
 * What the pipeline's unit tests share: the suite's real Redis under a prefix of their own, a
 * role, a signer, and real BullMQ jobs to run steps on.
 */
export function pipelineFixture() {
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const keys = new TaskyardKeys(prefix);
  const signer = new MessageSigner([{ id: 'k1', secret: 'a-signing-secret-of-some-length' }]);
  const role = defineRole({
    name: 'greet',
    description: 'a role for the pipeline tests',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: z.object({ greeting: z.string() }),
    acceptFrom: ['api:*'],
    attempts: 3,
    handler: async (message) => ({ greeting: `hello, ${message.payload.name}` }),
  });
  const queues = new RoleQueues(redis, keys, [role.name]);
  const records = new MessageRecords(redis, keys);
  const logger = createLogger({ name: 'test', level: 'silent' });
  const metrics = new WorkerMetrics();
  return {
    prefix,
    redis,
    keys,
    signer,
    role: role as AnyRole,
    queues,
    records,
    logger,
    metrics,
    series: metrics.forRole(role.name),
    /** A signed message for the role. */
    message(payload: unknown = { name: 'Ada' }, source = 'api:test'): TaskMessage {
      return createMessage({ role: role.name, payload, source }, signer);
    },
    /** The message as a real job in the role's queue (what a worker fetches), with `attempts`. */
    async job(message: TaskMessage = createMessage({ role: role.name, payload: { name: 'Ada' }, source: 'api:test' }, signer), data: unknown = message): Promise<Job> {
      return queues.get(role.name).add(role.name, data, jobOptionsFor(role, message.id, { ageSeconds: 600, count: 1000 }));
    },
    /** A job whose data is not a message at all. */
    async rawJob(data: unknown): Promise<Job> {
      return queues.get(role.name).add(role.name, data, { jobId: newTaskId(role.name) });
    },
    attempt(job: Job, abort = new AttemptAbort()): Attempt {
      return new Attempt(job, 'token', abort, logger);
    },
    async close(): Promise<void> {
      await queues.close();
      const found = [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}{*`))];
      if (found.length > 0) await redis.del(...found);
      redis.disconnect();
    },
  };
}
