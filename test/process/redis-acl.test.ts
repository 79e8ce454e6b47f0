import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiProcess } from '../support/api-process';
import { RedisCluster } from '../support/redis-cluster';
import { RedisServer } from '../support/redis-server';
import { SseClient } from '../support/sse-client';
import { TEST_API_KEY, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess, type LogLine } from '../support/worker-process';
import { roleCounts } from '../api/helpers';
import { waitForState } from './helpers';

/**
 * The platform as the least-privilege Redis user of infra/redis/taskyard.acl: a private
 * redis-server loads the template (with this test's prefix and password filled in, as an operator
 * would) as its ACL file, the default user behind a password. The API and a worker, each a process
 * of its own, log in as that user and do everything a deployment does; the user cannot flush,
 * reconfigure, or touch keys and channels outside its prefix.
 */
const TEMPLATE = resolve(__dirname, '../../infra/redis/taskyard.acl');
const TEMPLATE_PASSWORD = '>CHANGE-ME-TO-A-LONG-RANDOM-PASSWORD';
const ROLE_MODULES = ['dead-letters.cjs', 'topics.cjs', 'fair.cjs'].map((file) => resolve(__dirname, '../fixtures/roles', file)).join(',');
const ROLES = 'echo,docs.ingest,docs.analyze,docs.store,dl-flaky,audit,notify,fair-limited';
/** The name of the test's own connections as that user, so the ACL log tells them from the platform's. */
const PROBE = 'acl-probe';

const base = testEnv();
const prefix = base['QUEUE_PREFIX']!;
const password = randomBytes(16).toString('hex');
const adminPassword = randomBytes(16).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'taskyard-acl-'));
const aclFile = join(dir, 'users.acl');
/** The environment of the API and the worker: logged in as that user. */
const platformEnv = (redis: Record<string, string>) => ({ ...base, ROLE_MODULES, ROLES, RATE_LIMIT_PER_MINUTE: '100000', ...redis });

/** The template as an operator fills it in: the deployment's QUEUE_PREFIX and a password of its own. */
function filledIn(template: string): string {
  const acl = template.replace(TEMPLATE_PASSWORD, `>${password}`).replace(/([~&])taskyard([{:])/g, `$1${prefix}$2`);
  // Every placeholder was there to fill in, and none is left.
  expect(acl).not.toContain('CHANGE-ME');
  expect(acl).not.toMatch(/[~&]taskyard[{:]/);
  expect(acl.split(`${prefix}`)).toHaveLength(4);
  return acl;
}

beforeAll(() => {
  writeFileSync(aclFile, `${filledIn(readFileSync(TEMPLATE, 'utf8')).trimEnd()}\nuser default on >${adminPassword} ~* &* +@all\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface AclLogEntry {
  object: string;
  reason: string;
  /** Redis groups alike refusals into one entry; its connection is the latest one's. */
  count: number;
  clientName: string;
}

/** ACL LOG (what Redis refused, and from which connection), read as the default user (`admin`). */
async function aclLog(admin: Redis): Promise<AclLogEntry[]> {
  const entries = (await admin.call('ACL', 'LOG', '1000')) as unknown[][];
  return entries.map((flat) => {
    const fields = new Map<string, unknown>();
    for (let at = 0; at < flat.length; at += 2) fields.set(String(flat[at]), flat[at + 1]);
    return {
      object: String(fields.get('object')),
      reason: String(fields.get('reason')),
      count: Number(fields.get('count')),
      clientName: /\bname=(\S*)/.exec(String(fields.get('client-info')))?.[1] ?? '',
    };
  });
}

function safetyWarnings(logs: LogLine[]): LogLine[] {
  return logs.filter((line) => typeof line['redisSetting'] === 'string');
}

/** pause-role, set-log-level and resume-role, each acknowledged by the (one) worker; a task of the role runs after the resume. */
async function broadcastRoundTrip(api: ApiProcess): Promise<void> {
  for (const body of [{ type: 'pause-role', payload: { role: 'echo' } }, { type: 'set-log-level', payload: { level: 'info' } }, { type: 'resume-role', payload: { role: 'echo' } }]) {
    const made = await api.client.request('POST', '/v1/broadcasts', { body });
    expect(made.status, made.text).toBe(202);
    await waitFor(`the worker to acknowledge ${body.type}`, async () => ((await api.client.request('GET', `/v1/broadcasts/${made.body.id}`)).body?.acks?.length === 1 ? true : undefined));
  }
  expect((await api.client.request('GET', '/v1/broadcasts?limit=3')).body.items).toHaveLength(3);
  await waitForState(api.client, await api.client.submit('echo', { message: 'after the resume' }), 'completed');
}

function noPermLines(...apps: (ApiProcess | WorkerProcess)[]): LogLine[] {
  return apps.flatMap((app) => app.logs).filter((line) => JSON.stringify(line).includes('NOPERM'));
}

describe('the platform as the least-privilege user of infra/redis/taskyard.acl, on one Redis', () => {
  let redis: RedisServer;
  let admin: Redis;
  let asUser: Redis;
  let api: ApiProcess;
  let worker: WorkerProcess;

  beforeAll(async () => {
    redis = await new RedisServer({ aclFile, password: adminPassword, appendfsync: 'everysec' }).start();
    admin = new Redis(`redis://:${adminPassword}@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1 });
    asUser = new Redis(`redis://taskyard:${password}@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1, connectionName: PROBE });
    // What a production deployment runs with: the start-up check that refuses an unsafe Redis.
    const env = platformEnv({ REDIS_URL: `redis://taskyard:${password}@127.0.0.1:${redis.port}`, REQUIRE_SAFE_REDIS: 'true' });
    api = new ApiProcess(env).launch();
    worker = new WorkerProcess(env).launch();
    await Promise.all([api.waitUntilListening(), worker.waitUntilStarted()]);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    asUser?.disconnect();
    admin?.disconnect();
    await redis?.destroy();
  });

  it('is ready, lists its roles and shows Bull Board, with one start-up warning: appendfsync cannot be read, which REQUIRE_SAFE_REDIS lets pass', async () => {
    expect((await api.client.request('GET', '/health/ready')).body).toEqual({ status: 'ok', checks: { redis: 'ok' } });
    expect(await worker.health('/health/ready')).toBe(200);
    const roles = await api.client.request('GET', '/v1/roles');
    expect(roles.status).toBe(200);
    expect((roles.body.roles as { name: string }[]).map((role) => role.name)).toEqual(expect.arrayContaining(ROLES.split(',')));
    const stats = await api.client.request('GET', '/admin/queues/api/redis/stats');
    expect(stats).toMatchObject({ status: 200, body: { version: expect.stringMatching(/^\d+\./) } });
    expect((await api.client.request('GET', '/admin/queues/api/queues')).status).toBe(200);

    // INFO answers maxmemory-policy and AOF; only appendfsync needs CONFIG GET, which the user does not have.
    for (const app of [api, worker]) {
      await app.waitForLog('the appendfsync warning', (line) => line['redisSetting'] === 'appendfsync');
      expect(safetyWarnings(app.logs)).toEqual([
        expect.objectContaining({ level: 'warn', redisSetting: 'appendfsync', verdict: 'unknown', msg: expect.stringContaining('not granted to this ACL user') }),
      ]);
    }
  });

  it('takes a task (once per Idempotency-Key) and a batch, and the worker completes them', async () => {
    const headers = { 'idempotency-key': 'acl-once' };
    const first = await api.client.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'as taskyard' } }, headers });
    expect(first.status).toBe(202);
    const again = await api.client.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'as taskyard' } }, headers });
    expect(again.body.id).toBe(first.body.id);
    expect(first.headers.get('ratelimit-remaining')).not.toBeNull();

    const batch = await api.client.request('POST', '/v1/tasks/batch', {
      body: { tasks: [1, 2, 3].map((n) => ({ role: 'echo', payload: { message: `batch ${n}` } })) },
    });
    expect(batch.status).toBe(202);
    const ids = [first.body.id as string, ...(batch.body.tasks as { id: string }[]).map((task) => task.id)];
    const done = await Promise.all(ids.map((id) => waitForState(api.client, id, 'completed')));
    expect(done.map((task) => task.result.echo.message)).toEqual(['as taskyard', 'batch 1', 'batch 2', 'batch 3']);
    // And they are found by search (the index written with them, read with BullMQ's state sets).
    const found = await api.client.request('GET', '/v1/tasks?role=echo&state=completed&limit=100');
    expect(found.status).toBe(200);
    expect((found.body.items as { id: string }[]).map((item) => item.id)).toEqual(expect.arrayContaining(ids));
    // And followed live (BullMQ's events stream: XREAD, XRANGE, XREVRANGE).
    const followed = await api.client.submit('echo', { message: 'followed', sleepMs: 300 });
    const stream = await SseClient.open(`${api.client.baseUrl}/v1/tasks/${followed}/events`, { authorization: `Bearer ${TEST_API_KEY.secret}` });
    await stream.waitForEnd();
    expect(stream.states.at(-1)).toBe('completed');
  });

  it('cancels a delayed task, and an active one through pub/sub', async () => {
    const delayed = await api.client.request('POST', '/v1/tasks', { body: { role: 'echo', payload: { message: 'later' }, options: { delayMs: 60_000 } } });
    expect((await api.client.task(delayed.body.id)).state).toBe('delayed');
    const cancelled = await api.client.request('DELETE', `/v1/tasks/${delayed.body.id}`);
    expect(cancelled).toMatchObject({ status: 200, body: { state: 'cancelled', attempts: 0 } });
    expect((await roleCounts(api.client, 'echo')).delayed).toBe(0);

    const active = await api.client.submit('echo', { message: 'long', sleepMs: 30_000 });
    await waitForState(api.client, active, 'active');
    expect((await api.client.request('DELETE', `/v1/tasks/${active}`)).status).toBe(202);
    expect(await waitForState(api.client, active, 'cancelled')).toMatchObject({ state: 'cancelled', attempts: 1 });
  });

  it('fans a topic out to its subscribers', async () => {
    const published = await api.client.request('POST', '/v1/topics/order.created', { body: { payload: { orderId: 'acl-1' } } });
    expect(published.status).toBe(202);
    const [audit, notify] = await Promise.all((published.body.tasks as { id: string }[]).map((task) => waitForState(api.client, task.id, 'completed')));
    expect([audit.result, notify.result]).toEqual([{ audited: 'acl-1' }, { notified: 'acl-1' }]);
  });

  it('dead-letters a task that fails for good, and replays it', async () => {
    const dead = await api.client.submit('dl-flaky', { downstream: 'acl' }, { options: { attempts: 1 } });
    expect(await waitForState(api.client, dead, 'failed')).toMatchObject({ deadLetter: `/v1/dead-letters/${dead}` });
    expect((await api.client.request('GET', `/v1/dead-letters/${dead}`)).body).toMatchObject({ id: dead, reason: 'attempts-exhausted' });
    const listed = await api.client.request('GET', '/v1/dead-letters?role=dl-flaky');
    expect((listed.body.items as { id: string }[]).map((item) => item.id)).toEqual([dead]);

    // The fixture's downstream comes back (its flag is under the prefix, so this user may set it).
    await asUser.set(`${prefix}:test:recovered:acl`, '1');
    const replay = await api.client.request('POST', `/v1/dead-letters/${dead}/replay`);
    expect(replay.status).toBe(202);
    expect(await waitForState(api.client, replay.body.id, 'completed')).toMatchObject({ causationId: dead, result: { ok: true } });
    expect((await api.client.request('GET', `/v1/dead-letters/${dead}`)).status).toBe(404);
  });

  it('takes a document through docs.ingest, docs.analyze and docs.store to its report', async () => {
    // Three paragraphs of 30 words, each about a chunk's size: one docs.analyze task per chunk.
    const paragraph = Array.from({ length: 3 }, () => 'Redis keeps the queues and the workers take the tasks.').join(' ');
    const text = [paragraph, paragraph, paragraph].join('\n\n');
    const id = await api.client.submit('docs.ingest', { title: 'As taskyard', text, chunkSize: 200 });
    const document = await waitFor('the document report', async () => {
      const response = await api.client.request('GET', `/v1/documents/${id}`);
      return response.body?.status === 'completed' ? response.body : undefined;
    });
    expect(document).toMatchObject({ id, title: 'As taskyard', status: 'completed', report: { words: 90, paragraphs: 3 } });
    expect(document.chunks.total).toBeGreaterThan(1);
    expect(document.chunks.analysed).toBe(document.chunks.total);
  });

  it('runs a workflow and a schedule', async () => {
    const workflow = await api.client.request('POST', '/v1/workflows', { body: { root: { role: 'echo', payload: { message: 'parent' }, children: [{ role: 'echo', payload: { message: 'child' } }] } } });
    expect(workflow.status, workflow.text).toBe(202);
    await waitFor('the workflow to complete', async () => ((await api.client.request('GET', `/v1/workflows/${workflow.body.id}`)).body?.state === 'completed' ? true : undefined));
    const schedule = await api.client.request('POST', '/v1/schedules', { body: { id: 'acl-beat', role: 'echo', payload: { message: 'scheduled' }, every: 1000 } });
    expect(schedule.status, schedule.text).toBe(201);
    const [run] = await waitFor('a scheduled run', async () => {
      const view = (await api.client.request('GET', '/v1/schedules/acl-beat')).body;
      return view?.lastRuns?.length > 0 ? view.lastRuns : undefined;
    });
    expect(await waitForState(api.client, run.taskId, 'completed')).toMatchObject({ result: { echo: { message: 'scheduled' } } });
    expect((await api.client.request('DELETE', '/v1/schedules/acl-beat')).status).toBe(204);
  });

  it('pauses and resumes a role by broadcast, sets the log level, and every worker acknowledges', async () => {
    await broadcastRoundTrip(api);
  });

  it("gives a fair role's tenants their turns and holds each to its limit", async () => {
    const tasks = ['acme', 'acme', 'acme', 'globex'].map((tenant, n) => ({ role: 'fair-limited', payload: { n, workMs: 100 }, metadata: { tenant } }));
    const batch = await api.client.request('POST', '/v1/tasks/batch', { body: { tasks } });
    expect(batch.status, batch.text).toBe(202);
    const done = await Promise.all((batch.body.tasks as { id: string }[]).map((task) => waitForState(api.client, task.id, 'completed')));
    expect(done.map((task) => task.result)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('cannot flush, reconfigure, or reach keys and channels outside its prefix', async () => {
    await expect(asUser.flushall()).rejects.toThrow(/^NOPERM .*'flushall'/);
    await expect(asUser.flushdb()).rejects.toThrow(/^NOPERM .*'flushdb'/);
    await expect(asUser.config('SET', 'appendonly', 'no')).rejects.toThrow(/^NOPERM .*'config\|set'/);
    await expect(asUser.keys('*')).rejects.toThrow(/^NOPERM .*'keys'/);
    await expect(asUser.scan('0')).rejects.toThrow(/^NOPERM .*'scan'/);
    await expect(asUser.call('CLIENT', 'LIST')).rejects.toThrow(/^NOPERM .*'client\|list'/);
    await expect(asUser.get('other:key')).rejects.toThrow(/^NOPERM .*key/);
    // A deployment whose prefix merely starts like this one's is someone else's.
    await expect(asUser.get(`${prefix}-staging:~idem:x`)).rejects.toThrow(/^NOPERM .*key/);
    await expect(asUser.publish('other:channel', 'x')).rejects.toThrow(/^NOPERM .*channel/);
    const subscriber = asUser.duplicate();
    try {
      await expect(subscriber.subscribe('other:channel')).rejects.toThrow(/^NOPERM .*channel/);
    } finally {
      subscriber.disconnect();
    }
    // What it may do: its own keys.
    expect(await asUser.set(`${prefix}:probe`, '1')).toBe('OK');
    expect(await admin.get('other:key')).toBeNull();
  });

  it('was refused nothing it needed: no NOPERM in either log, and Redis refused the apps only the safety check’s CONFIG GET', async () => {
    expect(noPermLines(api, worker)).toEqual([]);
    expect([...api.stderr, ...worker.stderr]).toEqual([]);
    const refused = (await aclLog(admin)).filter((entry) => entry.clientName !== PROBE);
    // Once per app: the API's and the worker's start-up check.
    expect(refused).toEqual([{ reason: 'command', object: 'config|get', count: 2, clientName: expect.stringMatching(/^taskyard-(api|worker:)/) }]);
  });
});

describe('the platform as that user, on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let api: ApiProcess;
  let worker: WorkerProcess;

  beforeAll(async () => {
    cluster = new RedisCluster(3, { password: adminPassword, aclFile });
    await cluster.start();
    // REDIS_URL gives every node's credentials; its host is not used.
    const env = platformEnv({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: `redis://taskyard:${password}@not-used.invalid:1`, ROLES: 'echo,audit,notify,fair-limited' });
    api = new ApiProcess(env).launch();
    worker = new WorkerProcess(env).launch();
    await Promise.all([api.waitUntilListening(), worker.waitUntilStarted()]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await cluster?.destroy();
  });

  it('runs tasks on every node, fans a topic out, cancels through pub/sub, and Redis refuses it nothing', async () => {
    // It listens before its connection to the cluster is up (no REQUIRE_SAFE_REDIS here).
    await waitFor('the API to be ready', async () => (await api.client.request('GET', '/health/ready')).status === 200);
    expect((await api.client.request('GET', '/v1/roles')).status).toBe(200);
    const echo = await api.client.submit('echo', { message: 'on a cluster' });
    expect((await waitForState(api.client, echo, 'completed')).result).toEqual({ echo: { message: 'on a cluster' }, attempt: 1 });
    const published = await api.client.request('POST', '/v1/topics/order.created', { body: { payload: { orderId: 'acl-cluster' } } });
    expect(published.status).toBe(202);
    await Promise.all((published.body.tasks as { id: string }[]).map((task) => waitForState(api.client, task.id, 'completed')));
    const active = await api.client.submit('echo', { message: 'long', sleepMs: 30_000 });
    await waitForState(api.client, active, 'active');
    expect((await api.client.request('DELETE', `/v1/tasks/${active}`)).status).toBe(202);
    await waitForState(api.client, active, 'cancelled');
    await broadcastRoundTrip(api);
    const fair = await api.client.request('POST', '/v1/tasks/batch', { body: { tasks: ['acme', 'acme', 'acme'].map((tenant, n) => ({ role: 'fair-limited', payload: { n, workMs: 50 }, metadata: { tenant } })) } });
    expect(fair.status, fair.text).toBe(202);
    await Promise.all((fair.body.tasks as { id: string }[]).map((task) => waitForState(api.client, task.id, 'completed')));

    expect(noPermLines(api, worker)).toEqual([]);
    expect([...api.stderr, ...worker.stderr]).toEqual([]);
    // These nodes keep no AOF, so the safety check needs no CONFIG GET: nothing at all was refused, on any node.
    for (const port of cluster.ports) {
      const admin = new Redis(`redis://:${adminPassword}@127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
      try {
        expect(await aclLog(admin), `ACL LOG of node ${port}`).toEqual([]);
      } finally {
        admin.disconnect();
      }
    }
  });
});
