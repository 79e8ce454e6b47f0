import { resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { bearer, key, KeyFile } from '../support/key-file';
import { usePlatform } from '../support/platform';
import { waitFor } from '../support/wait-for';
import { expectError, roleCounts, waitForState } from './helpers';

const ROLE_MODULES = resolve(__dirname, '../fixtures/roles/workflows.cjs');
const acme = key('acme-key', ['tasks:submit', 'tasks:read', 'tasks:cancel'], { tenant: 'acme' });
const globex = key('globex-key', ['tasks:submit', 'tasks:read', 'tasks:cancel'], { tenant: 'globex' });
const stepsOnly = key('steps-only', ['tasks:submit:wf.step', 'tasks:read']);
const file = new KeyFile([acme, globex, stepsOnly]);
const onCluster = Boolean(inject('redisClusterNodes'));

const { api } = usePlatform(
  { ROLE_MODULES, ROLES: 'echo,wf.step,wf.fan,elsewhere', API_KEYS_FILE: file.path, WORKFLOW_MAX_NODES: '600', WORKFLOW_MAX_DEPTH: '4' },
  { workers: 1 },
);

type Node = { role: string; payload: unknown; onChildFailure?: string; options?: unknown; children?: Node[] };
const step = (name: string, extra: { fail?: boolean; holdMs?: number } = {}, children?: Node[], onChildFailure?: string): Node => ({
  role: 'wf.step',
  payload: { name, ...extra },
  ...(children ? { children } : {}),
  ...(onChildFailure ? { onChildFailure } : {}),
});

async function submit(root: Node, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<{ id: string; rootTaskId: string }> {
  const response = await api.request('POST', '/v1/workflows', { body: { root, ...extra }, ...(headers ? { auth: false, headers } : {}) });
  expect(response.status, response.text).toBe(202);
  expect(response.headers.get('location')).toBe(`/v1/workflows/${response.body.id}`);
  return response.body;
}

/** Waits until GET /v1/workflows/:id reports `state`. */
function waitForWorkflow(id: string, state: string): Promise<any> {
  return waitFor(`workflow ${id} to be ${state}`, async () => {
    const response = await api.request('GET', `/v1/workflows/${id}`);
    expect(response.status, response.text).toBe(200);
    return response.body.state === state ? response.body : undefined;
  });
}

/** The node of a workflow view at `path` (child indices). */
const at = (root: any, ...path: number[]) => path.reduce((node, index) => node.children[index], root);

describe('workflows: a tree of tasks, children before parents', () => {
  it('runs a three-level workflow: every parent after its children, reading their results; GET shows every node', async () => {
    const { id, rootTaskId } = await submit(step('root', {}, [step('left', {}, [step('left-a'), step('left-b')]), step('right')]), { name: 'three levels' });
    const done = await waitForWorkflow(id, 'completed');
    expect(done).toMatchObject({ id, name: 'three levels', state: 'completed', owner: expect.any(String) });
    expect(done.root).toMatchObject({
      taskId: rootTaskId,
      role: 'wf.step',
      state: 'completed',
      result: { name: 'root', children: [{ name: 'left', ok: true }, { name: 'right', ok: true }] },
    });
    expect(at(done.root, 0).result).toEqual({ name: 'left', children: [{ name: 'left-a', ok: true }, { name: 'left-b', ok: true }] });
    expect(at(done.root, 0, 1)).toMatchObject({ role: 'wf.step', state: 'completed', children: [] });
    // Each parent finished after each of its children, and its task names the workflow.
    const root = await api.task(rootTaskId);
    const left = await api.task(at(done.root, 0).taskId);
    const leftA = await api.task(at(done.root, 0, 0).taskId);
    expect(Date.parse(root.startedAt)).toBeGreaterThanOrEqual(Date.parse(left.finishedAt));
    expect(Date.parse(left.startedAt)).toBeGreaterThanOrEqual(Date.parse(leftA.finishedAt));
    expect(root.workflowId).toBe(id);
    expect(leftA.workflowId).toBe(id);
  });

  it('onChildFailure "fail" (the default): a failed child fails its parent and the workflow; its dead letter names the workflow', async () => {
    const { id } = await submit(step('root', {}, [step('mid', {}, [step('bad', { fail: true }), step('good')]), step('other')]));
    const failed = await waitForWorkflow(id, 'failed');
    expect(at(failed.root, 0, 0)).toMatchObject({ state: 'failed', error: { code: 'TOLD_TO_FAIL' } });
    expect(at(failed.root, 0)).toMatchObject({ state: 'failed' });
    expect(failed.root.state).toBe('failed');
    // The parents BullMQ failed for it are dead-lettered too, naming the workflow.
    const mid = await waitFor('the parent\'s dead letter', async () => {
      const response = await api.request('GET', `/v1/dead-letters/${at(failed.root, 0).taskId}`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(mid).toMatchObject({ workflowId: id, error: { message: expect.stringContaining('failed') } });
    const bad = at(failed.root, 0, 0).taskId;
    const letter = await waitFor('the dead letter', async () => {
      const response = await api.request('GET', `/v1/dead-letters/${bad}`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(letter).toMatchObject({ id: bad, workflowId: id, error: { code: 'TOLD_TO_FAIL' } });
    // A replay runs the node alone and says the workflow does not resume.
    const replay = await api.request('POST', `/v1/dead-letters/${bad}/replay`);
    expect(replay.status, replay.text).toBe(202);
    expect(replay.body.workflow).toMatchObject({ id, resumed: false, note: expect.stringContaining('does not resume') });
  });

  it('onChildFailure "ignore": the parent runs once its other children are done and sees the failure', async () => {
    const { id } = await submit(step('root', {}, [step('mid', {}, [step('bad', { fail: true }), step('good')], 'ignore'), step('other')]));
    const done = await waitForWorkflow(id, 'completed');
    expect(at(done.root, 0, 0).state).toBe('failed');
    expect(at(done.root, 0).result).toEqual({ name: 'mid', children: [{ ok: false, error: 'bad failed as told' }, { name: 'good', ok: true }] });
  });

  it('onChildFailure "continue": fail fast — children not started are dropped, running ones finish, then the parent runs', async () => {
    const never = { ...step('never'), options: { delayMs: 60_000 } };
    const { id } = await submit(step('root', {}, [step('mid', {}, [step('bad', { fail: true }), step('slow', { holdMs: 1000 }), never], 'continue')], 'ignore'));
    // Without the drop, mid would wait a minute for `never`.
    const done = await waitForWorkflow(id, 'completed');
    const mid = at(done.root, 0);
    expect(mid.result).toEqual({ name: 'mid', children: [{ ok: false, error: 'bad failed as told' }, { name: 'slow', ok: true }] });
    expect(at(mid, 0).state).toBe('failed');
    expect(at(mid, 1).state).toBe('completed');
    expect(at(mid, 2).state).toBe('gone');
    const slow = await api.task(at(mid, 1).taskId);
    expect(Date.parse((await api.task(mid.taskId)).finishedAt)).toBeGreaterThanOrEqual(Date.parse(slow.finishedAt));
  });

  it('refuses a workflow with one bad node whole (400 naming its path) and enqueues nothing', async () => {
    const before = await roleCounts(api, 'wf.step');
    const cases: [Node, number, string, string][] = [
      [step('root', {}, [step('ok'), { role: 'wf.step', payload: { name: '' } }]), 400, 'VALIDATION_FAILED', 'root.children[1].payload.name'],
      [step('root', {}, [step('ok', {}, [{ role: 'nope', payload: {} }])]), 400, 'VALIDATION_FAILED', 'root.children[0].children[0].role'],
      [step('root', {}, [{ ...step('ok'), options: { dedupe: { key: 'k', mode: 'simple' } } }]), 400, 'VALIDATION_FAILED', 'root.children[0].options.dedupe'],
      [step('root', {}, [{ ...step('ok'), options: { attempts: 99 } }]), 400, 'VALIDATION_FAILED', 'root.children[0].options.attempts'],
      // WORKFLOW_MAX_DEPTH is 4 here.
      [step('1', {}, [step('2', {}, [step('3', {}, [step('4', {}, [step('5')])])])]), 400, 'VALIDATION_FAILED', 'root.children[0].children[0].children[0].children[0]'],
    ];
    for (const [root, status, code, field] of cases) {
      const error = expectError(await api.request('POST', '/v1/workflows', { body: { root } }), status, code);
      expect(error.details.map((detail: { field: string }) => detail.field)).toContain(field);
      expect(error.message).toContain(field.replace(/\.(payload|options|role).*$/, ''));
    }
    // WORKFLOW_MAX_NODES is 600 here.
    const tooMany = step('root', {}, Array.from({ length: 600 }, (_, index) => step(`s${index}`)));
    expect(expectError(await api.request('POST', '/v1/workflows', { body: { root: tooMany } }), 400, 'VALIDATION_FAILED').message).toContain('at most 600 tasks');
    // The body itself: a node without a role, an unknown policy.
    expectError(await api.request('POST', '/v1/workflows', { body: { root: { payload: {} } } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('POST', '/v1/workflows', { body: { root: { ...step('x'), onChildFailure: 'shrug' } } }), 400, 'VALIDATION_FAILED');
    expect(await roleCounts(api, 'wf.step')).toEqual(before);
  });

  it('answers a body nested thousands of levels deep with 400, not a stack overflow', async () => {
    const depth = 12_000;
    const node = '{"role":"wf.step","payload":{"name":"x"},"children":[';
    const body = `{"root":${node.repeat(depth)}{"role":"wf.step","payload":{"name":"x"}}${']}'.repeat(depth)}}`;
    const error = expectError(await api.request('POST', '/v1/workflows', { body }), 400, 'VALIDATION_FAILED');
    expect(error.message).toContain('nests deeper');
  });

  it("checks every node's submit scope: a key for wf.step alone may not put wf.fan in a workflow (403 naming the node)", async () => {
    const error = expectError(
      await api.request('POST', '/v1/workflows', { auth: false, headers: bearer(stepsOnly), body: { root: step('root', {}, [{ role: 'wf.fan', payload: { count: 1 } }]) } }),
      403,
      'FORBIDDEN',
    );
    expect(error.details).toMatchObject({ field: 'root.children[0].role', scope: 'tasks:submit:wf.fan' });
    const accepted = await submit(step('root', {}, [step('child')]), {}, bearer(stepsOnly));
    await waitForWorkflow(accepted.id, 'completed');
  });

  it("a tenant's workflow: its tasks carry the tenant, another tenant gets 404 as for an unknown id", async () => {
    const { id, rootTaskId } = await submit(step('root', {}, [step('child')]), {}, bearer(acme));
    const view = await api.request('GET', `/v1/workflows/${id}`, { auth: false, headers: bearer(acme) });
    expect(view.body).toMatchObject({ tenant: 'acme', owner: 'acme-key' });
    expect((await api.task(rootTaskId)).tenant).toBe('acme');
    const theirs = await api.request('GET', `/v1/workflows/${id}`, { auth: false, headers: bearer(globex) });
    const unknown = await api.request('GET', `/v1/workflows/wf_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, { auth: false, headers: bearer(globex) });
    expectError(theirs, 404, 'NOT_FOUND');
    expectError(unknown, 404, 'NOT_FOUND');
    expectError(await api.request('DELETE', `/v1/workflows/${id}`, { auth: false, headers: bearer(globex) }), 404, 'NOT_FOUND');
    expectError(await api.request('GET', '/v1/workflows/not-an-id'), 404, 'NOT_FOUND');
  });

  it('cancelling a workflow cancels its unfinished nodes: the running one is aborted, the waiting ones never run', async () => {
    const { id, rootTaskId } = await submit(step('root', {}, [step('mid', {}, [step('held', { holdMs: 20_000 }), step('quick')])]));
    const running = await waitFor('the held node to run', async () => {
      const view = (await api.request('GET', `/v1/workflows/${id}`)).body;
      return at(view.root, 0, 0).state === 'active' && at(view.root, 0, 1).state === 'completed' ? view : undefined;
    });
    const cancelled = await api.request('DELETE', `/v1/workflows/${id}`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(at(cancelled.body.root, 0, 1).state).toBe('completed');
    // The running node ends once its abort lands.
    const after = await waitFor('every unfinished node to be cancelled', async () => {
      const view = (await api.request('GET', `/v1/workflows/${id}`)).body;
      return view.state === 'cancelled' && at(view.root, 0, 0).state === 'cancelled' ? view : undefined;
    });
    expect(at(after.root, 0).state).toBe('cancelled');
    expect(at(after.root, 0, 1).state).toBe('completed');
    // Neither parent ever started.
    expect((await api.task(rootTaskId)).startedAt).toBeUndefined();
    expect((await api.task(at(running.root, 0).taskId)).startedAt).toBeUndefined();
  });

  it("cancelling a workflow also cancels the children a node's handler added at run time", async () => {
    const { id, rootTaskId } = await submit({ role: 'wf.fan', payload: { count: 30, holdMs: 20_000 } });
    const running = await waitFor('the fan-out to run', async () => {
      const view = await api.task(rootTaskId);
      return view.state === 'queued' && view.startedAt ? view : undefined;
    });
    expect(running.role).toBe('wf.fan');
    const cancelled = await api.request('DELETE', `/v1/workflows/${id}`);
    expect(cancelled.status, cancelled.text).toBe(200);
    await waitForWorkflow(id, 'cancelled');
    // Every child, running or queued, ends cancelled; none completes.
    await waitFor('every child to end', async () => {
      const counts = await roleCounts(api, 'wf.step');
      return counts.active === 0 && counts.queued === 0 ? counts : undefined;
    });
  });

  it('cancelling one queued node fails its parent as its policy says (the job is not removed behind the parent)', async () => {
    const { id } = await submit(step('root', {}, [step('held', { holdMs: 20_000 }), { ...step('later'), options: { delayMs: 60_000 } }]));
    const view = await waitFor('the held node to run', async () => {
      const found = (await api.request('GET', `/v1/workflows/${id}`)).body;
      return at(found.root, 0).state === 'active' ? found : undefined;
    });
    const later = at(view.root, 1).taskId;
    const response = await api.request('DELETE', `/v1/tasks/${later}`);
    expect(response.status, response.text).toBe(202);
    expect(response.body.cancellationRequested).toBe(true);
    await api.request('DELETE', `/v1/tasks/${at(view.root, 0).taskId}`);
    const failed = await waitForWorkflow(id, 'failed');
    // BullMQ failed the root for its child (its handler never ran: no result, the child named).
    const root = await api.task(failed.root.taskId);
    expect(root.result).toBeUndefined();
    expect(root.error.message).toContain('child');
    expect(at(failed.root, 1).state).toBe('cancelled');
  });

  it('cancelling a node that waits for children of its own cancels them too', async () => {
    const { id } = await submit(step('root', {}, [step('mid', {}, [step('held', { holdMs: 20_000 }), { ...step('later'), options: { delayMs: 60_000 } }])]));
    const view = await waitFor('the held node to run', async () => {
      const found = (await api.request('GET', `/v1/workflows/${id}`)).body;
      return at(found.root, 0, 0).state === 'active' ? found : undefined;
    });
    const response = await api.request('DELETE', `/v1/tasks/${at(view.root, 0).taskId}`);
    expect(response.status, response.text).toBe(202);
    // The node itself reads cancelled once BullMQ has failed it for its cancelled children (it is
    // active for the moment a worker takes it to do that).
    await waitFor('the node and its subtree to be cancelled', async () => {
      const found = (await api.request('GET', `/v1/workflows/${id}`)).body;
      return [at(found.root, 0), at(found.root, 0, 0), at(found.root, 0, 1)].every((node) => node.state === 'cancelled') ? found : undefined;
    });
  });

  it.skipIf(!onCluster)('on a Redis Cluster refuses a workflow mixing role families (one hash slot per tree)', async () => {
    const error = expectError(await api.request('POST', '/v1/workflows', { body: { root: step('root', {}, [{ role: 'elsewhere', payload: {} }]) } }), 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ field: 'root.children[0].role' })]);
  });

  it.skipIf(onCluster)('on one Redis a workflow may mix role families', async () => {
    const { id } = await submit(step('root', {}, [{ role: 'elsewhere', payload: {} }]));
    await waitForWorkflow(id, 'completed');
  });
});

describe('run-time fan-out (ctx.fanOut): a handler adds children to itself and waits for them', () => {
  it('fans out 500 children and completes once all are done, reading each result', async () => {
    const id = await api.submit('wf.fan', { count: 500 });
    const done = await waitForState(api, id, 'completed', 60_000);
    expect(done.result).toEqual({ completed: 500, failed: 0 });
    // The coordinator ran twice (fan out, then read) on one attempt.
    expect(done.attempts).toBe(1);
  });

  it('a second wave (wave: 2) adds new children once the first is done', async () => {
    const id = await api.submit('wf.fan', { count: 3, waves: 2 });
    expect((await waitForState(api, id, 'completed')).result).toEqual({ completed: 6, failed: 0 });
  });

  it('a failed child under "ignore" is reported to the coordinator, which completes', async () => {
    const id = await api.submit('wf.fan', { count: 5, failAt: 2 });
    expect((await waitForState(api, id, 'completed')).result).toEqual({ completed: 4, failed: 1 });
  });

  it('refuses a fan-out past WORKFLOW_MAX_NODES: the coordinator fails permanently with SEND_INVALID', async () => {
    const id = await api.submit('wf.fan', { count: 601 });
    expect(await waitForState(api, id, 'failed')).toMatchObject({ error: { code: 'SEND_INVALID', class: 'permanent' } });
  });
});

describe('the OpenAPI document', () => {
  it('documents the workflow routes from their schemas: the node is recursive, the view names every node', async () => {
    const doc = (await api.request('GET', '/docs/json', { auth: false })).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/workflows', '/v1/workflows/{id}']));
    const post = doc.paths['/v1/workflows'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403']));
    const body = post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['root']);
    // The node is one named component whose children are nodes again.
    const nodeRef = body.properties.root.$ref as string;
    const node = doc.components.schemas[nodeRef.split('/').at(-1)!];
    expect(node.required).toEqual(expect.arrayContaining(['role']));
    expect(node.properties.onChildFailure.enum).toEqual(['fail', 'ignore', 'continue']);
    expect(node.properties.children.items.$ref).toBe(nodeRef);
    expect(Object.keys(doc.paths['/v1/workflows/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    const view = doc.paths['/v1/workflows/{id}'].get.responses['200'].content['application/json'].schema;
    const viewNode = doc.components.schemas[(view.properties.root.$ref as string).split('/').at(-1)!];
    expect(Object.keys(viewNode.properties)).toEqual(expect.arrayContaining(['taskId', 'role', 'state', 'result', 'error', 'children']));
    expect(JSON.stringify(viewNode.properties.state)).toContain('gone');
  });
});
