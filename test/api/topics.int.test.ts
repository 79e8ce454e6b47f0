import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { loadRoleRegistry } from '@taskyard/roles';
import { usePlatform } from '../support/platform';
import { roleQueue } from '../support/role-queue';
import { expectError, roleCounts, waitForState } from './helpers';

describe('topic messaging', () => {
  const { api } = usePlatform({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/topics.cjs') });

  it('turns a published message into one task per subscribing role, under one correlation id', async () => {
    const published = await api.request('POST', '/v1/topics/order.created', { body: { payload: { orderId: 'o-1' } } });
    expect(published.status).toBe(202);
    expect(published.body.topic).toBe('order.created');
    expect(published.body.tasks.map((task: { role: string }) => task.role)).toEqual(['audit', 'notify']);
    const [audit, notify] = await Promise.all(published.body.tasks.map((task: { id: string }) => waitForState(api, task.id, 'completed')));
    expect(audit).toMatchObject({ result: { audited: 'o-1' }, correlationId: published.body.correlationId });
    expect(notify).toMatchObject({ result: { notified: 'o-1' }, correlationId: published.body.correlationId });

    // Only the subscribers of a topic get it.
    const shipped = await api.request('POST', '/v1/topics/order.shipped', { body: { payload: { orderId: 'o-2' }, metadata: { correlationId: 'ship-2' } } });
    expect(shipped.body).toMatchObject({ correlationId: 'ship-2', tasks: [{ role: 'notify' }] });
  });

  it.each(['checkout', 'isolated-checkout'])('lets a handler publish (%s): each subscriber gets a derived task (causation = the publisher)', async (publisher) => {
    const checkout = await api.submit(publisher, { orderId: 'o-3' });
    const done = await waitForState(api, checkout, 'completed');
    const tasks = done.result.tasks as { id: string; role: string }[];
    expect(tasks.map((task) => task.role)).toEqual(['audit', 'notify']);
    for (const task of tasks) {
      expect(await waitForState(api, task.id, 'completed')).toMatchObject({ causationId: checkout, correlationId: done.correlationId });
    }
  });

  it('refuses an unknown topic (404) and a payload one subscriber rejects (400), enqueueing nothing', async () => {
    const before = (await roleCounts(api, 'audit')).completed;
    const unknown = await api.request('POST', '/v1/topics/order.deleted', { body: { payload: { orderId: 'x' } } });
    expect(expectError(unknown, 404, 'UNKNOWN_TOPIC').details).toEqual({ topics: ['order.created', 'order.shipped'] });
    expectError(await api.request('POST', '/v1/topics/order.created', { body: { payload: { orderId: '' } } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('POST', '/v1/topics/Not A Topic', { body: { payload: {} } }), 400, 'VALIDATION_FAILED');
    const counts = await roleCounts(api, 'audit');
    expect({ queued: counts.queued, completed: counts.completed }).toEqual({ queued: 0, completed: before });
  });

  it('takes an Idempotency-Key: a repeat answers the same tasks and enqueues none again', async () => {
    const headers = { 'idempotency-key': 'publish-once-1' };
    const body = { payload: { orderId: 'o-idem' } };
    const first = await api.request('POST', '/v1/topics/order.created', { body, headers });
    expect(first.status).toBe(202);
    const total = async () => Object.values(await roleCounts(api, 'audit')).reduce((sum, count) => sum + count, 0);
    const before = await total();
    const again = await api.request('POST', '/v1/topics/order.created', { body, headers });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await total()).toBe(before);
    expectError(await api.request('POST', '/v1/topics/order.created', { body: { payload: { orderId: 'other' } }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('completes a fan-out that got only partly in (one role refused) when the client retries with its Idempotency-Key', async () => {
    // Fault injection: BullMQ's add starts with INCR of the queue's id key; a non-number there
    // makes notify's add fail while audit's goes in (each role's share is its own: see the README).
    const idKey = roleQueue(api.redis, api.config.queuePrefix, 'notify').toKey('id');
    const counter = await api.redis.get(idKey);
    await api.redis.set(idKey, 'not-a-number');
    const headers = { 'idempotency-key': 'partial-fan-out-1' };
    const body = { payload: { orderId: 'o-partial' } };
    let failed;
    try {
      failed = await api.request('POST', '/v1/topics/order.created', { body, headers });
    } finally {
      await api.redis.set(idKey, counter ?? '0');
    }
    expect(failed.status).toBeGreaterThanOrEqual(500);

    const retried = await api.request('POST', '/v1/topics/order.created', { body, headers });
    expect(retried.status).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    const [audit, notify] = retried.body.tasks as { id: string; role: string }[];
    expect([audit!.role, notify!.role]).toEqual(['audit', 'notify']);
    // Both subscribers' tasks exist once each, under the ids the first request claimed, and run.
    expect(await waitForState(api, audit!.id, 'completed')).toMatchObject({ result: { audited: 'o-partial' }, correlationId: retried.body.correlationId });
    expect(await waitForState(api, notify!.id, 'completed')).toMatchObject({ result: { notified: 'o-partial' }, correlationId: retried.body.correlationId });
    for (const role of ['audit', 'notify']) {
      const queue = roleQueue(api.redis, api.config.queuePrefix, role);
      const orders = (await queue.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed'])).filter((job) => job.data.payload.orderId === 'o-partial');
      expect(orders.map((job) => job.id), role).toHaveLength(1);
    }
  });

  it('shows each role its topics in GET /v1/roles', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; topics?: string[] }[];
    expect(roles.find((role) => role.name === 'notify')?.topics).toEqual(['order.created', 'order.shipped']);
  });
});

describe('ROLE_<ROLE>_TOPICS', () => {
  // A deployment subscribes the built-in echo role to a topic it does not declare, moves the
  // fixture's notify role off order.shipped, and audit off order.created.
  const { api, env } = usePlatform({
    ROLE_MODULES: resolve(__dirname, '../fixtures/roles/topics.cjs'),
    ROLE_ECHO_TOPICS: 'greetings',
    ROLE_NOTIFY_TOPICS: 'order.created',
    ROLE_AUDIT_TOPICS: 'order.audited',
  });

  it('replaces the topics a role declares, in the API and in the workers', async () => {
    const greeted = await api.request('POST', '/v1/topics/greetings', { body: { payload: { message: 'hello, subscribers' } } });
    expect(greeted.status).toBe(202);
    expect(greeted.body.tasks).toEqual([expect.objectContaining({ role: 'echo' })]);
    expect(await waitForState(api, greeted.body.tasks[0].id, 'completed')).toMatchObject({ result: { echo: { message: 'hello, subscribers' } } });

    expectError(await api.request('POST', '/v1/topics/order.shipped', { body: { payload: { orderId: 'o-9' } } }), 404, 'UNKNOWN_TOPIC');
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; topics?: string[] }[];
    expect(roles.find((role) => role.name === 'notify')?.topics).toEqual(['order.created']);
    expect(roles.find((role) => role.name === 'echo')?.topics).toEqual(['greetings']);

    // A handler's ctx.publish reaches the subscribers the worker's configuration names.
    const checkout = await api.submit('checkout', { orderId: 'o-10' });
    const done = await waitForState(api, checkout, 'completed');
    expect((done.result.tasks as { role: string }[]).map((task) => task.role)).toEqual(['notify']);
  });

  it('is validated with the rest of the configuration', () => {
    const knownRoles = loadRoleRegistry(env, builtInRoles).names();
    expect(() => loadConfig({ ...env, ROLE_ECHO_TOPICS: 'Not A Topic' }, { knownRoles })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, ROLE_ECHO_TOPICS: 'Not A Topic' }, { knownRoles })).toThrow(/ROLE_ECHO_TOPICS/);
  });
});
