import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../support/platform';
import { bearer, key, KeyFile } from '../support/key-file';
import { SseClient } from '../support/sse-client';
import { WorkerProcess } from '../support/worker-process';
import { waitFor } from '../support/wait-for';
import { expectError, waitForState } from './helpers';

const acme = key('acme-key', ['tasks:submit', 'tasks:read'], { tenant: 'acme' });
const globex = key('globex-key', ['tasks:submit', 'tasks:read'], { tenant: 'globex' });
const ops = key('ops', ['admin']);
const writer = key('writer', ['tasks:submit']);
const file = new KeyFile([acme, globex, ops, writer]);
const ROLE_MODULES = `${__dirname}/../fixtures/roles/events.cjs`;
/** What a task that fails its first attempt goes through, as BullMQ's events tell it. */
const RETRIED_ONCE = ['queued', 'active', 'delayed', 'queued', 'active', 'completed'];

describe('live events: GET /v1/tasks/:id/events and GET /v1/events (Server-Sent Events)', () => {
  const { api, env } = usePlatform({ API_KEYS_FILE: file.path, ROLE_MODULES, ROLES: 'echo,chatty', SSE_MAX_STREAMS_PER_KEY: '500' }, { workers: 0 });
  const open: SseClient[] = [];
  afterAll(() => Promise.all(open.map((client) => client.close())));
  const follow = async (path: string, entry: { secret: string } = ops, headers: Record<string, string> = {}) => {
    const client = await SseClient.open(api.baseUrl + path, { ...bearer(entry), ...headers });
    open.push(client);
    return client;
  };
  const submit = async (entry: { secret: string }, body: Record<string, unknown>): Promise<string> => {
    const response = await api.request('POST', '/v1/tasks', { auth: false, headers: bearer(entry), body });
    expect(response.status, response.text).toBe(202);
    return response.body.id as string;
  };
  /** Runs a worker process until `done` resolves. */
  const withWorker = async (done: () => Promise<unknown>) => {
    const worker = new WorkerProcess(env);
    try {
      await worker.start();
      await done();
    } finally {
      await worker.stop();
    }
  };

  it('streams a task from its current state through every change, in order, and ends with it', async () => {
    const id = await submit(ops, { role: 'echo', payload: { message: 'hi', failTimes: 1 } });
    const stream = await follow(`/v1/tasks/${id}/events`);
    expect(stream.status).toBe(200);
    await stream.waitForEvent('the current state', (event) => event.event === 'state');
    await withWorker(() => stream.waitForEnd());
    expect(stream.states).toEqual(RETRIED_ONCE);
    const last = stream.events.at(-1)!;
    expect(last.data).toMatchObject({ taskId: id, role: 'echo', state: 'completed', result: { echo: { message: 'hi' } } });
    const ids = stream.events.map((event) => event.id!);
    expect([...ids].sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]) || Number(a.split('-')[1]) - Number(b.split('-')[1]))).toEqual(ids);
    // A finished task's stream is its final state, then the end.
    const again = await follow(`/v1/tasks/${id}/events`);
    await again.waitForEnd();
    expect(again.states).toEqual(['completed']);
    // EventSource reconnects after a stream ends: with nothing missed, 204 tells it to stop.
    const reconnect = await api.request('GET', `/v1/tasks/${id}/events`, { auth: false, headers: { ...bearer(ops), 'last-event-id': again.lastId! } });
    expect(reconnect.status).toBe(204);
    // One that missed the end gets it.
    const late = await follow(`/v1/tasks/${id}/events`, ops, { 'last-event-id': stream.events.at(-2)!.id! });
    await late.waitForEnd();
    expect(late.states).toEqual(['completed']);
  });

  it('resumes after Last-Event-ID with what happened meanwhile, none twice', async () => {
    const id = await submit(ops, { role: 'echo', payload: { message: 'later', failTimes: 1 } });
    const first = await follow(`/v1/tasks/${id}/events`);
    const snapshot = await first.waitForEvent('the current state', (event) => event.event === 'state');
    await first.close();
    await withWorker(() => waitForState(api, id, 'completed'));
    const resumed = await follow(`/v1/tasks/${id}/events`, ops, { 'last-event-id': snapshot.id! });
    await resumed.waitForEnd();
    expect(resumed.states).toEqual(RETRIED_ONCE.slice(1));
  });

  it('ends a cancelled task\'s stream with `cancelled`, and a failed one\'s with its error', async () => {
    const parked = await submit(acme, { role: 'echo', payload: {}, options: { delayMs: 600_000 } });
    const cancelled = await follow(`/v1/tasks/${parked}/events`, acme);
    await cancelled.waitForEvent('the current state', (event) => event.data.state === 'delayed');
    expect((await api.request('DELETE', `/v1/tasks/${parked}`)).status).toBe(200);
    await cancelled.waitForEnd();
    expect(cancelled.states).toEqual(['delayed', 'cancelled']);
    const broken = await submit(ops, { role: 'echo', payload: { failTimes: 5 }, options: { attempts: 1 } });
    const failed = await follow(`/v1/tasks/${broken}/events`);
    await withWorker(() => failed.waitForEnd());
    expect(failed.states).toEqual(['queued', 'active', 'failed']);
    expect(failed.events.at(-1)!.data.error).toMatchObject({ class: 'transient', attempt: 1 });
  });

  it('keeps 200 concurrent streams on one API process, each seeing every state change of its task in order', async () => {
    const tasks = Array.from({ length: 200 }, (_, at) => ({ role: 'echo', payload: { message: `n${at}`, failTimes: 1 } }));
    const response = await api.request('POST', '/v1/tasks/batch', { auth: false, headers: bearer(ops), body: { tasks } });
    expect(response.status, response.text).toBe(202);
    const ids = (response.body.tasks as { id: string }[]).map((task) => task.id);
    const streams = await Promise.all(ids.map((id) => follow(`/v1/tasks/${id}/events`)));
    await Promise.all(streams.map((stream) => stream.waitForEvent('the current state', (event) => event.event === 'state')));
    await withWorker(() => Promise.all(streams.map((stream) => stream.waitForEnd(60_000))));
    for (const stream of streams) expect(stream.states).toEqual(RETRIED_ONCE);
  });

  it('streams every event of the caller\'s tenant, by role, correlation id and workflow; resumes across roles', async () => {
    const mine = await follow('/v1/events', acme);
    const byCorrelation = await follow('/v1/events?correlationId=order-9');
    const chattyOnly = await follow('/v1/events?role=chatty', acme);
    const ours = await submit(acme, { role: 'echo', payload: { message: 'acme' }, metadata: { correlationId: 'order-9' } });
    const theirs = await submit(globex, { role: 'echo', payload: { message: 'globex' } });
    const progress = await submit(acme, { role: 'chatty', payload: { count: 3, size: 10 } });
    const workflow = await api.request('POST', '/v1/workflows', { auth: false, headers: bearer(acme), body: { root: { role: 'echo', payload: { message: 'root' }, children: [{ role: 'echo', payload: { message: 'leaf' } }] } } });
    expect(workflow.status, workflow.text).toBe(202);
    const byWorkflow = await follow(`/v1/events?workflowId=${workflow.body.id}`, acme);
    await withWorker(async () => {
      await mine.waitForEvent('the workflow root completing', (event) => event.data.taskId === workflow.body.rootTaskId && event.data.state === 'completed');
      await mine.waitForEvent('chatty completing', (event) => event.data.taskId === progress && event.data.state === 'completed');
      await byWorkflow.waitForEvent('the root completing', (event) => event.data.taskId === workflow.body.rootTaskId && event.data.state === 'completed');
    });
    const seenBy = (client: SseClient) => new Set(client.events.map((event) => event.data.taskId));
    expect(seenBy(mine)).toContain(ours);
    expect(seenBy(mine)).not.toContain(theirs);
    expect([...seenBy(byCorrelation)]).toEqual([ours]);
    expect([...seenBy(chattyOnly)]).toEqual([progress]);
    expect(chattyOnly.events.filter((event) => event.event === 'progress').map((event) => event.data.progress.step)).toEqual([1, 2, 3]);
    expect(seenBy(byWorkflow).size).toBe(2);
    expect(byWorkflow.events.every((event) => event.data.workflowId === workflow.body.id)).toBe(true);
    expect(mine.events.find((event) => event.data.taskId === ours)!.data.correlationId).toBe('order-9');

    // Resume from the first event: everything after it comes again; the events of other roles since the floor may repeat, none is missing.
    const firstSeen = mine.events[0]!;
    const resumed = await follow('/v1/events', acme, { 'last-event-id': firstSeen.id! });
    // An id is <role>/<stream id>/<floor>: the floor is each stream's own.
    const place = (id: string | undefined) => id?.split('/').slice(0, 2).join('/');
    await resumed.waitForEvent('the replay to reach the last event', (event) => place(event.id) === place(mine.lastId));
    const key = (event: { event: string; data: { taskId: string; state?: string; progress?: unknown; at: string } }) => `${event.data.taskId}/${event.event}/${event.data.state ?? JSON.stringify(event.data.progress)}/${event.data.at}`;
    const replayed = new Set(resumed.events.map(key));
    for (const event of mine.events.slice(1)) expect(replayed).toContain(key(event));
    expect(resumed.events.map(key)).not.toContain(key(firstSeen));
  });

  it('answers 404 for a task the caller may not see, 400 for an id it never gave, 403 without tasks:read', async () => {
    const theirs = await submit(globex, { role: 'echo', payload: {}, options: { delayMs: 600_000 } });
    expectError(await api.request('GET', `/v1/tasks/${theirs}/events`, { auth: false, headers: bearer(acme) }), 404, 'NOT_FOUND');
    expectError(await api.request('GET', `/v1/tasks/${theirs}/events`, { auth: false, headers: { ...bearer(globex), 'last-event-id': 'nonsense' } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/events', { auth: false, headers: { ...bearer(ops), 'last-event-id': '1-0' } }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/events?role=nope', { auth: false, headers: bearer(ops) }), 404, 'UNKNOWN_ROLE');
    expectError(await api.request('GET', '/v1/events?state=queued', { auth: false, headers: bearer(ops) }), 400, 'VALIDATION_FAILED');
    expectError(await api.request('GET', '/v1/events', { auth: false, headers: bearer(writer) }), 403, 'FORBIDDEN');
    const document = (await api.request('GET', '/docs/json', { auth: false })).body;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/tasks/{id}/events']));
  });
});

describe('live events: limits, heartbeats, a slow client, shutdown', () => {
  const { api, env } = usePlatform(
    { API_KEYS_FILE: file.path, ROLE_MODULES, ROLES: 'echo,chatty', SSE_MAX_STREAMS_PER_KEY: '2', SSE_HEARTBEAT_MS: '1000', SSE_MAX_BUFFER_BYTES: '16384' },
    { workers: 0 },
  );

  it('sends heartbeats on an idle stream, and refuses a key more than SSE_MAX_STREAMS_PER_KEY streams (429) until one closes', async () => {
    const first = await SseClient.open(`${api.baseUrl}/v1/events`, bearer(acme));
    const second = await SseClient.open(`${api.baseUrl}/v1/events?role=echo`, bearer(acme));
    await waitFor('a heartbeat', () => first.comments.includes('keep-alive'));
    const third = await SseClient.open(`${api.baseUrl}/v1/events`, bearer(acme));
    expect(third.status).toBe(429);
    expect(third.events[0]!.data.error.code).toBe('TOO_MANY_STREAMS');
    // Another key has its own streams.
    const other = await SseClient.open(`${api.baseUrl}/v1/events`, bearer(globex));
    expect(other.status).toBe(200);
    await second.close();
    await waitFor('a stream to be given back', async () => {
      const retry = await SseClient.open(`${api.baseUrl}/v1/events`, bearer(acme));
      await retry.close();
      return retry.status === 200;
    });
    await Promise.all([first.close(), other.close()]);
  });

  it('drops a client that does not read, with a last event saying so, instead of buffering for it', async () => {
    const url = new URL(`${api.baseUrl}/v1/events?role=chatty`);
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    let closed = false;
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${bearer(ops).authorization}\r\nAccept: text/event-stream\r\n\r\n`);
    await waitFor('the stream to start', () => Buffer.concat(received).toString().includes('retry: 2000'));
    // Stop reading: what the server writes piles up in the kernel's buffers, then in its own.
    socket.pause();
    const worker = new WorkerProcess(env);
    try {
      await worker.start();
      const id = await api.submit('chatty', { count: 400, size: 50_000 });
      await waitForState(api, id, 'completed', 60_000);
      socket.resume();
      await waitFor('the server to close the connection', () => closed, { timeoutMs: 30_000 });
    } finally {
      await worker.stop();
      socket.destroy();
    }
    const text = Buffer.concat(received).toString();
    // (The body is chunked: the last event is one chunk.)
    expect(text).toContain('event: end\ndata: {"reason":"slow-client"}');
    expect(text.slice(text.lastIndexOf('event: '))).toMatch(/^event: end\ndata: \{"reason":"slow-client"\}/);
    // Far less than the 20 MB of progress reached the client.
    expect(text.length).toBeLessThan(20_000_000);
  });

  it('ends open streams with `shutdown` when the API stops', async () => {
    const stream = await SseClient.open(`${api.baseUrl}/v1/events`, bearer(ops));
    expect(stream.status).toBe(200);
    await api.stop();
    await stream.waitForEnd();
    expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: { reason: 'shutdown' } });
  });
});
