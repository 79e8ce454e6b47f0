import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiProcess } from '../support/api-process';
import { deletePrefix, TEST_API_KEY, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';

const OLD = 'old:old-signing-secret-0123456789';
const NEW = 'new:new-signing-secret-0123456789';
const base = testEnv({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/greeting.cjs'), ROLES: 'echo,greeting' });
const running: (ApiProcess | WorkerProcess)[] = [];

afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
  await deletePrefix(base['REDIS_URL']!, base['QUEUE_PREFIX']!);
});

async function startApi(signingKeys: string): Promise<{ api: ApiProcess; url: string }> {
  const api = new ApiProcess({ ...base, SIGNING_KEYS: signingKeys });
  running.push(api);
  api.launch();
  return { api, url: await api.waitUntilListening() };
}

async function startWorker(signingKeys: string, roles: string): Promise<WorkerProcess> {
  const worker = new WorkerProcess({ ...base, SIGNING_KEYS: signingKeys, ROLES: roles });
  running.push(worker);
  return worker.start();
}

async function stop(process: ApiProcess | WorkerProcess): Promise<void> {
  await process.stop();
  running.splice(running.indexOf(process), 1);
}

const auth = { authorization: `Bearer ${TEST_API_KEY.secret}`, 'content-type': 'application/json' };

async function submit(url: string, role: string, payload: unknown): Promise<string> {
  const response = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ role, payload }) });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function view(url: string, id: string): Promise<any> {
  return (await fetch(`${url}/v1/tasks/${id}`, { headers: auth })).json();
}

const settled = (url: string, id: string) => waitFor(`task ${id} to finish`, async () => {
  const task = await view(url, id);
  return task.state === 'completed' || task.state === 'failed' ? task : undefined;
});

async function signedWith(url: string, id: string): Promise<string> {
  // What a dead letter keeps is the message as stored: its signature names the key.
  const letter = await (await fetch(`${url}/v1/dead-letters/${id}`, { headers: auth })).json() as { message?: { signature: { kid: string } } };
  return letter.message!.signature.kid;
}

describe('rotating the signing key across separate API and worker processes', () => {
  it('adds a key everywhere, switches the signer, retires the old key: queued work verifies until the old key is retired, and is dead-lettered after', async () => {
    // 1. Add the new key everywhere (workers first, then the API), the old one still signing.
    let { api, url } = await startApi(`${OLD},${NEW}`);
    const signedOld = await submit(url, 'echo', { message: 'old key' });
    // Queued under the old key for a role no worker serves yet: it will meet the retired key.
    const parkedOld = await submit(url, 'greeting', { name: 'parked' });
    let worker = await startWorker(`${OLD},${NEW}`, 'echo');
    expect((await settled(url, signedOld)).state).toBe('completed');

    // 2. Switch the signer: the new key first, the old still verifying.
    await stop(api);
    ({ api, url } = await startApi(`${NEW},${OLD}`));
    await stop(worker);
    worker = await startWorker(`${NEW},${OLD}`, 'echo');
    const signedNew = await submit(url, 'echo', { message: 'new key' });
    const queuedOld = await submit(url, 'echo', { message: 'still fine' });
    expect((await settled(url, signedNew)).state).toBe('completed');
    expect((await settled(url, queuedOld)).state).toBe('completed');

    // 3. Retire the old key everywhere. What was still queued under it is refused (SIGNATURE_INVALID),
    //    dead-lettered with the old key's signature, and cannot be replayed; new work runs.
    await stop(api);
    ({ api, url } = await startApi(NEW));
    await stop(worker);
    worker = await startWorker(NEW, 'echo,greeting');
    const refused = await settled(url, parkedOld);
    expect(refused).toMatchObject({ state: 'failed', error: { code: 'SIGNATURE_INVALID', class: 'permanent' } });
    expect(await signedWith(url, parkedOld)).toBe('old');
    const replay = await fetch(`${url}/v1/dead-letters/${parkedOld}/replay`, { method: 'POST', headers: { authorization: auth.authorization } });
    expect({ status: replay.status, code: ((await replay.json()) as { error: { code: string } }).error.code }).toEqual({ status: 422, code: 'DEAD_LETTER_INVALID' });
    expect((await settled(url, await submit(url, 'greeting', { name: 'after' }))).state).toBe('completed');
  });
});
