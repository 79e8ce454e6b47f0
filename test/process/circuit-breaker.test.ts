import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../support/api-server';
import { deletePrefix, testEnv } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { WorkerProcess } from '../support/worker-process';
import { metricValue, waitAllCompleted } from './helpers';

const ROLE = 'downstream';
/** The fixture role's breaker.resetTimeoutMs. */
const RESET_MS = 2000;

/** The downstream service: a local HTTP server the test turns off (500) and on (200), recording every request. */
class DownstreamStub {
  failing = true;
  readonly requests: { at: number; task: string | null; answered: number }[] = [];
  private readonly server: Server = createServer((request, response) => {
    const answered = this.failing ? 500 : 200;
    this.requests.push({ at: Date.now(), task: new URL(request.url ?? '/', 'http://stub').searchParams.get('task'), answered });
    response.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'served' : 'unavailable');
  });

  async start(): Promise<string> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

const stub = new DownstreamStub();
let env: Record<string, string>;
let api: ApiServer;
let replicas: WorkerProcess[];

beforeAll(async () => {
  const url = await stub.start();
  env = testEnv({ ROLE_MODULES: resolve(__dirname, '../fixtures/roles/breaker.cjs'), ROLES: ROLE, DOWNSTREAM_URL: url });
  api = new ApiServer(env);
  replicas = [new WorkerProcess(env), new WorkerProcess(env)];
  await Promise.all([api.start(), ...replicas.map((replica) => replica.start())]);
});

afterAll(async () => {
  await Promise.all([api?.stop(), ...(replicas ?? []).map((replica) => replica.stop())]);
  await stub.stop();
  if (env) await deletePrefix(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
});

async function circuitOf(role: string): Promise<string | undefined> {
  const response = await api.request('GET', '/v1/roles');
  expect(response.status).toBe(200);
  return (response.body.roles as { name: string; circuit?: string }[]).find((entry) => entry.name === role)?.circuit;
}

/** Attempts spent so far, summed over `ids` (GET /v1/tasks/:id; a running attempt counts). */
async function attemptsSpent(ids: string[]): Promise<number> {
  const views = await Promise.all(ids.map((id) => api.task(id)));
  return views.reduce((sum, view) => sum + (view?.attempts ?? 0), 0);
}

/** A replica's worker name, the `origin` of the transitions it makes. */
function nameOf(replica: WorkerProcess): string {
  return `${hostname()}:${replica.pid}`;
}

async function metricSum(name: string, labels: Record<string, string>): Promise<number> {
  const texts = await Promise.all(replicas.map((replica) => replica.metrics()));
  return texts.reduce((sum, text) => sum + (metricValue(text, name, labels) ?? 0), 0);
}

describe('fault 8: a failing downstream behind a role with a circuit breaker, two worker replicas', () => {
  it('opens the circuit in both replicas, spends no attempts while open, probes once per period, and completes every task after recovery', async () => {
    // Roles without a breaker always read closed; this one starts closed.
    expect(await circuitOf('echo')).toBe('closed');
    expect(await circuitOf(ROLE)).toBe('closed');

    // 1. The downstream fails: the first failures trip a replica's breaker and the circuit opens.
    stub.failing = true;
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) ids.push(await api.submit(ROLE, { n }));
    await waitFor('the circuit to open (GET /v1/roles)', async () => (await circuitOf(ROLE)) === 'open', { timeoutMs: 20_000, intervalMs: 50 });
    expect(await circuitOf('echo')).toBe('closed');

    // Both replicas follow it: each one's gauge reads open (2), whichever replica tripped.
    for (const replica of replicas) {
      await waitFor(
        `replica ${replica.pid} to report the circuit open`,
        async () => metricValue(await replica.metrics(), 'taskyard_circuit_state', { role: ROLE }) === 2,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }
    expect(await metricSum('taskyard_circuit_transitions_total', { role: ROLE, to: 'open' })).toBeGreaterThanOrEqual(1);

    // 2. While the downstream stays down, the replicas only probe: at most one request per open
    //    period (each probe fails and reopens the circuit), and every attempt spent is one of those
    //    requests: the jobs fetched meanwhile went back to the queue with their attempts unspent.
    const windowMs = 3 * RESET_MS;
    const requestsBefore = stub.requests.length;
    const attemptsBefore = await attemptsSpent(ids);
    await sleep(windowMs);
    const attemptsAfter = await attemptsSpent(ids);
    const probes = stub.requests.slice(requestsBefore);
    expect(probes.length, 'requests while the downstream was down and the circuit open').toBeLessThanOrEqual(windowMs / RESET_MS + 1);
    expect(probes.length, 'a probe after each open period').toBeGreaterThanOrEqual(1);
    for (let i = 1; i < probes.length; i++) {
      expect(probes[i]!.at - probes[i - 1]!.at, 'time between two probes (one per open period)').toBeGreaterThanOrEqual(RESET_MS - 200);
    }
    // ±1: a probe may be running (its attempt counted) at either reading.
    expect(Math.abs(attemptsAfter - attemptsBefore - probes.length), 'attempts spent beyond the probes').toBeLessThanOrEqual(1);
    for (const id of ids) expect((await api.task(id))?.state).not.toBe('failed');

    // 3. The downstream recovers: after the reset timeout one probe succeeds and closes the circuit everywhere.
    stub.failing = false;
    await waitFor('the circuit to close (GET /v1/roles)', async () => (await circuitOf(ROLE)) === 'closed', { timeoutMs: 20_000, intervalMs: 50 });
    await waitAllCompleted(api, ids, 30_000);
    for (const id of ids) expect(await api.task(id)).toMatchObject({ state: 'completed', result: { served: 'served' } });

    for (const replica of replicas) {
      await waitFor(
        `replica ${replica.pid} to report the circuit closed`,
        async () => metricValue(await replica.metrics(), 'taskyard_circuit_state', { role: ROLE }) === 0,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }
    // One replica's probe closed it, once; the other followed. Every replica logged each change of its view.
    expect(await metricSum('taskyard_circuit_transitions_total', { role: ROLE, to: 'closed' })).toBe(1);
    expect(await metricSum('taskyard_circuit_transitions_total', { role: ROLE, to: 'half-open' })).toBeGreaterThanOrEqual(1);
    const closedHere = (replica: WorkerProcess) =>
      replica.logs.some((line) => line.msg === 'circuit half-open -> closed' && line['reason'] === 'the probe succeeded' && line['origin'] === nameOf(replica));
    expect(replicas.filter(closedHere)).toHaveLength(1);
    for (const replica of replicas) {
      const transitions = replica.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('circuit ') && line.msg.includes(' -> '));
      expect(transitions.length).toBeGreaterThanOrEqual(2);
      expect(transitions.at(-1)).toMatchObject({ role: ROLE, to: 'closed', reason: expect.any(String), origin: expect.any(String) });
      expect(transitions.some((line) => line['to'] === 'open' && line.level === 'warn')).toBe(true);
    }
  });
});
