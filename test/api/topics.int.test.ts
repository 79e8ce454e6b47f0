import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
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

  it('shows each role its topics in GET /v1/roles', async () => {
    const roles = (await api.request('GET', '/v1/roles')).body.roles as { name: string; topics?: string[] }[];
    expect(roles.find((role) => role.name === 'notify')?.topics).toEqual(['order.created', 'order.shipped']);
  });
});
