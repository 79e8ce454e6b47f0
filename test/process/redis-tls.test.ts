import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiProcess } from '../support/api-process';
import { RedisServer } from '../support/redis-server';
import { testEnv } from '../support/test-env';
import { makeTestCertificates } from '../support/tls-certificates';
import { waitFor } from '../support/wait-for';
import { WorkerProcess, type LogLine } from '../support/worker-process';
import { waitForState } from './helpers';

/**
 * Redis over TLS: a redis-server that speaks only TLS (`--port 0 --tls-port`), with a server
 * certificate for 127.0.0.1 signed by a CA the test makes. The API and a worker, each a process
 * of its own, reach it at `rediss://` once told to trust that CA (REDIS_TLS_CA_FILE), and not
 * without.
 */
const dir = mkdtempSync(join(tmpdir(), 'taskyard-tls-'));
const certificates = makeTestCertificates(dir);
let redis: RedisServer;
const processes: (ApiProcess | WorkerProcess)[] = [];

beforeAll(async () => {
  redis = await new RedisServer({ tls: certificates, appendfsync: 'everysec' }).start();
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((child) => child.stop()));
});

afterAll(async () => {
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function launch(env: Record<string, string>): { api: ApiProcess; worker: WorkerProcess } {
  const api = new ApiProcess(env).launch();
  const worker = new WorkerProcess(env).launch();
  processes.push(api, worker);
  return { api, worker };
}

/** The line an app logs when its Redis connection fails, with the certificate error as its cause. */
function certificateRefused(line: LogLine): boolean {
  const err = line['err'] as { message?: string } | undefined;
  return line.level === 'warn' && /^redis connection lost/.test(line.msg ?? '') && /self-signed certificate in certificate chain/.test(err?.message ?? '');
}

describe('Redis over TLS (rediss://)', () => {
  it('with the CA trusted (REDIS_TLS_CA_FILE), the API takes a task over HTTP and a worker completes it', async () => {
    expect(redis.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
    const { api, worker } = launch(testEnv({ REDIS_URL: redis.url, REDIS_TLS_CA_FILE: certificates.caFile, ROLES: 'echo' }));

    await api.waitUntilListening();
    await worker.waitUntilStarted();
    // The API listens before its connection is up.
    await waitFor('the API to be ready', async () => (await api.client.request('GET', '/health/ready')).status === 200);
    expect(await worker.health('/health/ready')).toBe(200);

    const id = await api.client.submit('echo', { message: 'over TLS' });
    const task = await waitForState(api.client, id, 'completed');
    expect(task.result).toEqual({ echo: { message: 'over TLS' }, attempt: 1 });
    expect([...api.stderr, ...worker.stderr]).toEqual([]);
  });

  it('without the CA trusted, neither app talks to that Redis: the API answers 503 and the worker does not start, both naming the certificate', async () => {
    const { api, worker } = launch(testEnv({ REDIS_URL: redis.url, ROLES: 'echo' }));

    await api.waitUntilListening();
    await api.waitForLog('the API to refuse the certificate', certificateRefused);
    expect(await api.client.request('GET', '/health/ready')).toMatchObject({ status: 503, body: { status: 'unavailable', checks: { redis: 'unavailable' } } });
    expect(await api.client.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'not sent' } } })).toMatchObject({
      status: 503,
      body: { error: { code: 'REDIS_UNAVAILABLE' } },
    });

    await worker.waitUntilListening();
    await worker.waitForLog('the worker to refuse the certificate', certificateRefused);
    expect(await worker.health('/health/ready')).toBe(503);
    expect(worker.logs.some((line) => line.msg === 'workers started')).toBe(false);
    // A worker that never reached Redis drains for SHUTDOWN_TIMEOUT_MS on SIGTERM; that is not this test's subject.
    await worker.stop(1000);
  });
});
