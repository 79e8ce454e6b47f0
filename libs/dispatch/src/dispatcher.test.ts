import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { DispatchError, roleOfTaskId, type DispatchFailure, type Principal, type Scope } from '@taskyard/contracts';
import { createMessage, MessageSigner } from '@taskyard/crypto';
import { defineRole, RoleRegistry } from '@taskyard/roles';
import { RoleQueues, TaskStore, TaskyardKeys } from '@taskyard/store';
import { Dispatcher, type DispatchRequest } from './dispatcher';
import type { Origin } from './origin';

const prefix = `t-${randomBytes(4).toString('hex')}`;
const redis = new Redis(inject('redisUrl'));
const keys = new TaskyardKeys(prefix);
const signer = new MessageSigner([{ id: 'k1', secret: 'a-signing-secret-of-some-length' }]);
const handler = async () => undefined;
const roles = new RoleRegistry([
  defineRole({ name: 'greet', description: 'd', input: z.object({ name: z.string().min(1) }).strict(), topics: ['hello'], handler }),
  defineRole({ name: 'audit', description: 'd', input: z.object({ name: z.string() }), topics: ['hello'], acceptFrom: ['api:main', 'role:greet'], handler }),
  defineRole({ name: 'bounded', description: 'd', input: z.unknown(), maxQueueDepth: 2, handler }),
]);
const queues = new RoleQueues(redis, keys, roles.names());
const store = new TaskStore(redis, keys, queues, { windowMsOf: () => 600_000, maxEntries: 10_000 });
const enqueued: Map<string, number>[] = [];
const dispatcher = new Dispatcher({ registry: roles, store, signer, config: { retention: { ageSeconds: 600, count: 1000 }, workflow: { maxNodes: 100, maxDepth: 5 } }, onEnqueued: (counts) => enqueued.push(new Map(counts)) });

afterAll(async () => {
  await queues.close();
  const found = [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}{*`))];
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
});

const principal = (keyId: string, scopes: Scope[] = ['admin'], tenant?: string): Principal => ({ keyId, scopes: new Set(scopes), tenant });
const api: Origin = { kind: 'api', principal: principal('main') };
const parent = createMessage({ role: 'greet', payload: { name: 'Ada' }, source: 'api:main', correlationId: 'order-1', labels: { team: 'x' } }, signer);
const fromGreet: Origin = { kind: 'role', role: 'greet', parent };

/** The refusal `run` throws: its code and details. */
function refusal(run: () => unknown): { code: DispatchFailure; message: string; details: unknown } {
  try {
    run();
  } catch (err) {
    if (err instanceof DispatchError) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('the dispatcher: making messages', () => {
  it('makes new work from an API key: signed, its id naming its role, its own correlation, its job options', () => {
    const [task] = dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'Ada' }, options: { delayMs: 5000, attempts: 5 }, metadata: { labels: { a: 'b' } } }]);
    const { message, options, accepted } = task!;
    expect(roleOfTaskId(message.id)).toBe('greet');
    expect(message.metadata).toEqual({ causationId: null, correlationId: message.id, labels: { a: 'b' }, owner: 'main', source: 'api:main' });
    expect(signer.verify({ ...message, signature: undefined }, message.signature)).toBe(true);
    expect(options).toMatchObject({ jobId: message.id, attempts: 5, delay: 5000 });
    expect(accepted).toEqual({ id: message.id, role: 'greet', state: 'delayed' });
  });

  it("derives a role's follow-up from its message: caused by it, in its correlation, from the role", () => {
    const [task] = dispatcher.prepare(fromGreet, [{ role: 'audit', payload: { name: 'Ada' } }]);
    expect(task!.message.metadata).toEqual({ causationId: parent.id, correlationId: 'order-1', labels: { team: 'x' }, source: 'role:greet' });
  });

  it('makes one request per subscriber of a topic, and refuses a topic nobody subscribes to, naming the topics', () => {
    expect(dispatcher.topicRequests('hello', { payload: { name: 'Ada' } }).map((request) => request.role)).toEqual(['greet', 'audit']);
    expect(refusal(() => dispatcher.topicRequests('nobody', { payload: {} }))).toEqual({
      code: 'UNKNOWN_TOPIC',
      message: 'no role subscribes to topic "nobody"',
      details: { topics: ['hello'] },
    });
  });
});

describe('the dispatcher: refusals, one vocabulary for every door', () => {
  it('an unknown role: UNKNOWN_ROLE naming the known ones; inside a batch, an invalid task naming its index', () => {
    expect(refusal(() => dispatcher.prepare(api, [{ role: 'nope', payload: {} }]))).toMatchObject({ code: 'UNKNOWN_ROLE', details: { known: ['greet', 'audit', 'bounded'] } });
    const batch = [{ role: 'greet', payload: { name: 'a' } }, { role: 'nope', payload: {} }];
    expect(refusal(() => dispatcher.prepare(api, batch, { batch: true }))).toMatchObject({
      code: 'INVALID',
      details: [{ index: 1, field: 'tasks.1.role', message: expect.stringContaining('unknown role') }],
    });
  });

  it("a sender the role's acceptFrom does not name: FORBIDDEN, for API keys and roles alike", () => {
    expect(refusal(() => dispatcher.prepare({ kind: 'api', principal: principal('other') }, [{ role: 'audit', payload: { name: 'a' } }]))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'API key "other" may not send tasks to role "audit"',
      details: { field: 'role' },
    });
    // The refusal never lists who else may send (other keys' ids).
    expect(JSON.stringify(refusal(() => dispatcher.prepare({ kind: 'api', principal: principal('other') }, [{ role: 'audit', payload: { name: 'a' } }])))).not.toContain('api:main');
    const fromBounded: Origin = { kind: 'role', role: 'bounded', parent };
    expect(refusal(() => dispatcher.prepare(fromBounded, [{ role: 'audit', payload: { name: 'a' } }]))).toMatchObject({ code: 'FORBIDDEN', message: 'role "bounded" may not send tasks to role "audit"' });
  });

  it('a key without a submit scope for the role: FORBIDDEN naming the scope it needs; a role scope opens that role only', () => {
    const reader = { kind: 'api', principal: principal('reader', ['tasks:read']) } as const;
    // A key with no submit scope at all is refused before any role is resolved: it learns no role names.
    expect(refusal(() => dispatcher.prepare(reader, [{ role: 'no-such-role', payload: {} }]))).toMatchObject({ code: 'FORBIDDEN', details: { scope: 'tasks:submit' } });
    const otherRole = { kind: 'api', principal: principal('other-role', ['tasks:submit:bounded']) } as const;
    expect(refusal(() => dispatcher.prepare(otherRole, [{ role: 'greet', payload: { name: 'Ada' } }]))).toMatchObject({
      code: 'FORBIDDEN',
      message: 'this API key lacks the scope "tasks:submit:greet" (or "tasks:submit")',
      details: { field: 'role', scope: 'tasks:submit:greet' },
    });
    const greeter = { kind: 'api', principal: principal('greeter', ['tasks:submit:greet']) } as const;
    expect(dispatcher.prepare(greeter, [{ role: 'greet', payload: { name: 'Ada' } }])).toHaveLength(1);
    expect(refusal(() => dispatcher.prepare(greeter, [{ role: 'greet', payload: { name: 'Ada' } }, { role: 'bounded', payload: 1 }], { batch: true }))).toMatchObject({
      code: 'FORBIDDEN',
      details: { index: 1, field: 'tasks.1.role', scope: 'tasks:submit:bounded' },
    });
    expect(dispatcher.prepare({ kind: 'api', principal: principal('submitter', ['tasks:submit']) }, [{ role: 'bounded', payload: 1 }])).toHaveLength(1);
  });

  it("stamps a tenant key's tenant and owner on its work; it may not name another tenant, an operator key may", () => {
    const tenantKey = { kind: 'api', principal: principal('acme-key', ['tasks:submit'], 'acme') } as const;
    const [own] = dispatcher.prepare(tenantKey, [{ role: 'greet', payload: { name: 'Ada' } }]);
    expect(own!.message.metadata).toMatchObject({ owner: 'acme-key', tenant: 'acme', source: 'api:acme-key' });
    expect(dispatcher.prepare(tenantKey, [{ role: 'greet', payload: { name: 'Ada' }, metadata: { tenant: 'acme' } }])[0]!.message.metadata.tenant).toBe('acme');
    expect(refusal(() => dispatcher.prepare(tenantKey, [{ role: 'greet', payload: { name: 'Ada' }, metadata: { tenant: 'globex' } }]))).toMatchObject({
      code: 'FORBIDDEN',
      details: { field: 'metadata.tenant' },
    });
    expect(dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'Ada' }, metadata: { tenant: 'globex' } }])[0]!.message.metadata).toMatchObject({ owner: 'main', tenant: 'globex' });
    // What it causes keeps tenant and owner; a replay is owned by the key that replays it.
    const [child] = dispatcher.prepare({ kind: 'role', role: 'greet', parent: own!.message }, [{ role: 'audit', payload: { name: 'a' } }]);
    expect(child!.message.metadata).toMatchObject({ owner: 'acme-key', tenant: 'acme', source: 'role:greet' });
    const [replay] = dispatcher.prepare({ kind: 'replay', principal: principal('ops'), parent: own!.message }, [{ role: 'greet', payload: { name: 'Ada' } }]);
    expect(replay!.message.metadata).toMatchObject({ owner: 'ops', tenant: 'acme', causationId: own!.message.id });
  });

  it("options past the role's maxAttempts or maxDelayMs: INVALID naming the field and the cap", () => {
    expect(refusal(() => dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'Ada' }, options: { attempts: 11, delayMs: 8 * 86_400_000 } }]))).toMatchObject({
      code: 'INVALID',
      details: [
        { field: 'options.attempts', message: 'at most 10 for role "greet"' },
        { field: 'options.delayMs', message: `at most ${7 * 86_400_000} ms for role "greet"` },
      ],
    });
    expect(dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'Ada' }, options: { attempts: 10, delayMs: 7 * 86_400_000 } }])).toHaveLength(1);
  });

  it('a payload its role rejects, or nested too deeply: INVALID naming the fields', () => {
    expect(refusal(() => dispatcher.prepare(api, [{ role: 'greet', payload: { name: '' } }]))).toMatchObject({
      code: 'INVALID',
      details: [{ field: 'payload.name', message: expect.any(String) }],
    });
    let deep: unknown = {};
    for (let i = 0; i < 80; i++) deep = { deep };
    expect(refusal(() => dispatcher.prepare(api, [{ role: 'bounded', payload: deep }]))).toMatchObject({ code: 'INVALID', message: expect.stringContaining('nested deeper than 64') });
  });

  it("a handler's send options out of bounds: INVALID (a client's are checked by the API's body schema)", () => {
    const request: DispatchRequest = { role: 'audit', payload: { name: 'a' }, options: { delayMs: 10 ** 12 } };
    expect(refusal(() => dispatcher.prepare(fromGreet, [request]))).toMatchObject({ code: 'INVALID', details: [{ field: 'options.delayMs' }] });
  });

  it('refuses a whole batch for one bad task, and enqueues nothing of it', async () => {
    const before = await queues.counts('greet');
    await expect(dispatcher.dispatch(api, [{ role: 'greet', payload: { name: 'ok' } }, { role: 'greet', payload: { name: 1 } }])).rejects.toBeInstanceOf(DispatchError);
    expect(await queues.counts('greet')).toEqual(before);
  });

  it("past a role's maxQueueDepth: QUEUE_FULL naming the depth, the limit and what was asked", async () => {
    await dispatcher.dispatch(api, [{ role: 'bounded', payload: 1 }]);
    const error = await dispatcher.dispatch(api, [{ role: 'bounded', payload: 2 }, { role: 'bounded', payload: 3 }]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DispatchError);
    expect(error).toMatchObject({ code: 'QUEUE_FULL', details: { role: 'bounded', depth: 1, limit: 2, requested: 2 } });
    await dispatcher.dispatch(api, [{ role: 'bounded', payload: 2 }]);
  });
});

describe('the dispatcher: enqueueing', () => {
  /** The commands `run` sends on the dispatcher's connection. */
  async function commandsOf(run: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, stream) => {
      sent.push(command.name);
      return send(command, stream);
    };
    try {
      await run();
    } finally {
      redis.sendCommand = send;
    }
    return sent;
  }

  it('adds one task with one command, its search index entries just ahead of it (the submit path pays no round trip of its own)', async () => {
    const sent = await commandsOf(() => dispatcher.dispatch(api, [{ role: 'greet', payload: { name: 'one' } }]));
    expect(sent).toEqual(['evalsha', 'evalsha']);
  });

  it('adds a fan-out to several roles in one transaction on one Redis, and counts what each role got', async () => {
    enqueued.length = 0;
    let tasks: Awaited<ReturnType<Dispatcher['dispatch']>> = [];
    const sent = await commandsOf(async () => (tasks = await dispatcher.dispatch(api, dispatcher.topicRequests('hello', { payload: { name: 'all' } }))));
    expect(sent.filter((name) => name === 'multi' || name === 'exec')).toEqual(['multi', 'exec']);
    // Each task's add and its indexing.
    expect(sent.filter((name) => name === 'evalsha')).toHaveLength(4);
    for (const { message } of tasks) expect(await queues.get(message.role).getJobState(message.id)).toBe('waiting');
    expect(enqueued).toEqual([new Map([['greet', 1], ['audit', 1]])]);
  });

  it('answers a deduplicated task with the task it duplicates, per tenant, and does not count it', async () => {
    enqueued.length = 0;
    const dedupe = { key: 'order-7', mode: 'simple' } as const;
    const request = { role: 'greet', payload: { name: 'Ada' }, options: { delayMs: 60_000, dedupe } };
    const [first, second] = await dispatcher.dispatch(api, [request, request]);
    expect(second!.accepted).toEqual({ id: first!.message.id, role: 'greet', state: 'delayed', deduplicated: true });
    expect(first!.accepted.deduplicated).toBeUndefined();
    const [otherTenant] = await dispatcher.dispatch({ kind: 'api', principal: principal('t', ['tasks:submit'], 'globex') }, [request]);
    expect(otherTenant!.accepted.deduplicated).toBeUndefined();
    expect(enqueued).toEqual([new Map([['greet', 1]]), new Map([['greet', 1]])]);
    expect(refusal(() => dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'x' }, options: { delayMs: 1000, dedupe: { key: 'd', mode: 'debounce', ttlMs: 5000 } } }]))).toMatchObject({
      code: 'INVALID',
      details: [{ field: 'options.delayMs' }],
    });
    // A debounced task waits its window; the role bounds it like a delay.
    expect(dispatcher.prepare(api, [{ role: 'greet', payload: { name: 'x' }, options: { dedupe: { key: 'd', mode: 'debounce', ttlMs: 5000 } } }])[0]!).toMatchObject({
      accepted: { state: 'delayed' },
      options: { delay: 5000, deduplication: { id: JSON.stringify([null, 'd']), ttl: 5000, extend: true, replace: true } },
    });
  });

  it('re-adds a stored job without adding it twice, and without counting it again', async () => {
    const [task] = await dispatcher.dispatch(api, [{ role: 'greet', payload: { name: 'again' } }]);
    enqueued.length = 0;
    const before = await queues.counts('greet');
    await dispatcher.redrive([task!]);
    expect(await queues.counts('greet')).toEqual(before);
    expect(enqueued).toEqual([]);
  });
});

describe('the dispatcher: a fair role’s turns', () => {
  const fairRoles = new RoleRegistry([
    defineRole({ name: 'shared', description: 'd', input: z.unknown(), fair: true, handler }),
    defineRole({ name: 'plain', description: 'd', input: z.unknown(), handler }),
  ]);
  const fairQueues = new RoleQueues(redis, keys, fairRoles.names());
  const fairDispatcher = new Dispatcher({ registry: fairRoles, store: new TaskStore(redis, keys, fairQueues, { windowMsOf: () => 600_000, maxEntries: 10_000 }), signer, config: { retention: { ageSeconds: 600, count: 1000 }, workflow: { maxNodes: 100, maxDepth: 5 } } });
  const as = (tenant: string): Origin => ({ kind: 'api', principal: principal(`${tenant}-key`, ['tasks:submit'], tenant) });
  const priorityOf = async (id: string) => (await fairQueues.get(roleOfTaskId(id)!).getJob(id))!.opts.priority;
  afterAll(() => fairQueues.close());

  it("adds a fair role's tasks with their tenants' turns as priorities; other roles' tasks as they are", async () => {
    const flood = await fairDispatcher.dispatch(as('acme'), Array.from({ length: 5 }, () => ({ role: 'shared', payload: {} })));
    const [late, plain] = await fairDispatcher.dispatch(as('globex'), [{ role: 'shared', payload: {} }, { role: 'plain', payload: {} }]);
    expect(await Promise.all(flood.map(({ message }) => priorityOf(message.id)))).toEqual([1, 2, 3, 4, 5]);
    // globex came while acme's first task was the front: its turn is the next one.
    expect(await priorityOf(late!.message.id)).toBe(2);
    expect(await priorityOf(plain!.message.id)).toBeUndefined();
    // The jobs as prepared are left alone (an Idempotency-Key record keeps them), and a re-add takes a turn too.
    expect(flood[0]!.options.priority).toBeUndefined();
    await fairDispatcher.redrive([flood[0]!]);
    expect(await priorityOf(flood[0]!.message.id)).toBe(1);
  });

  it("gives a workflow's nodes of a fair role their turns too, the plain ones none", async () => {
    const origin = as('initech') as Origin & { kind: 'api' };
    const root = fairDispatcher.prepareWorkflow(origin, 'wf_00000000-0000-4000-8000-000000000001', {
      role: 'plain',
      payload: {},
      children: [{ role: 'shared', payload: {} }, { role: 'shared', payload: {}, children: [{ role: 'shared', payload: {} }] }],
    });
    await fairDispatcher.enqueueWorkflow(root);
    const [first, second] = root.children;
    expect(await priorityOf(root.message.id)).toBeUndefined();
    const priorities = await Promise.all([first!, second!, second!.children[0]!].map(({ message }) => priorityOf(message.id)));
    // One tenant's three nodes, in the tree's order: three consecutive turns.
    expect(priorities).toEqual([priorities[0], priorities[0]! + 1, priorities[0]! + 2]);
    expect(priorities[0]).toBeGreaterThanOrEqual(1);
  });

  it("refuses a task's own priority for a fair role (INVALID naming the field); other roles take it", () => {
    expect(refusal(() => fairDispatcher.prepare(as('acme'), [{ role: 'plain', payload: {} }, { role: 'shared', payload: {}, options: { priority: 3 } }], { batch: true }))).toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/task 1: .*options\.priority: role "shared" is fair: its tasks take their tenant's turn/),
      details: [{ index: 1, field: 'tasks.1.options.priority' }],
    });
    expect(fairDispatcher.prepare(as('acme'), [{ role: 'plain', payload: {}, options: { priority: 3 } }])[0]!.options.priority).toBe(3);
  });
});
