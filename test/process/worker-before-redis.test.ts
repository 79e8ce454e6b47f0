import { afterAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { freePort } from '../support/free-port';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { expectJobLogContext, waitForState } from './helpers';

let redis: RedisServer | undefined;
let api: ApiServer | undefined;
let worker: WorkerProcess | undefined;

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await redis?.destroy();
});

describe('a worker process started before Redis', () => {
  it('waits for Redis instead of exiting, then serves tasks once it appears', async () => {
    // A port where nothing listens yet; Redis is started on it later.
    const port = await freePort();
    redis = new RedisServer({ port });
    const env = testEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, ROLES: 'echo', LOG_LEVEL: 'debug' });
    worker = new WorkerProcess(env).launch();

    await worker.waitUntilListening();
    expect(await worker.health('/health/live')).toBe(200);
    expect(await worker.health('/health/ready')).toBe(503);
    // It keeps trying (three reconnect attempts), running, and does not claim to be started.
    await waitFor('three reconnect attempts', () => worker!.logs.filter((line) => line.msg === 'reconnecting to redis').length >= 3);
    expect(worker.logs.some((line) => line.msg === 'workers started')).toBe(false);
    expect(worker.stderr).toEqual([]);
    expect(await worker.health('/health/ready')).toBe(503);

    await redis.start();
    await worker.waitUntilStarted();
    await waitFor('the worker to report itself ready', async () => (await worker!.health('/health/ready')) === 200);

    api = await new ApiServer(env).start();
    const id = await api.submit('echo', { message: 'late redis' }, { metadata: { correlationId: 'late-redis' } });
    const task = await waitForState(api, id, 'completed');
    expect(task.result).toEqual({ echo: { message: 'late redis' }, attempt: 1 });
    expectJobLogContext(worker, { [id]: 'late-redis' });
  });
});
