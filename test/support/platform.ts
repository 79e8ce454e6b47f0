import { afterAll, beforeAll } from 'vitest';
import { ApiServer } from './api-server';
import { roleQueue } from './role-queue';
import { deletePrefix, testEnv, testRedis } from './test-env';
import { WorkerProcess } from './worker-process';

/**
 * The common fixture of an HTTP test file: one API in-process and `workers` worker processes
 * on the suite's Redis under a prefix of their own, started before the file's tests and
 * stopped (and their keys deleted) after them.
 */
export function usePlatform(overrides: Record<string, string> = {}, { workers = 1 }: { workers?: number } = {}) {
  const env = testEnv(overrides);
  const api = new ApiServer(env);
  const workerProcesses = Array.from({ length: workers }, () => new WorkerProcess(env));
  beforeAll(async () => {
    await Promise.all([api.start(), ...workerProcesses.map((worker) => worker.start())]);
  });
  afterAll(async () => {
    await Promise.all([api.stop(), ...workerProcesses.map((worker) => worker.stop())]);
    await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
  });
  return { env, api, worker: workerProcesses[0]!, workers: workerProcesses };
}

/**
 * A connection of the test's own and `role`'s BullMQ queue, for a test file that adds or
 * inspects jobs behind the platform's back; closed after the file's tests.
 */
export function useRoleQueue(env: Record<string, string>, role: string) {
  const redis = testRedis({ maxRetriesPerRequest: null });
  const queue = roleQueue(redis, env['QUEUE_PREFIX']!, role);
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
  });
  return { redis, queue };
}
