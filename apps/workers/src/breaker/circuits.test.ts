import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { PermanentTaskError, TransientTaskError } from '@taskyard/contracts';
import { createLogger } from '@taskyard/observability';
import { defineRole, RoleRegistry } from '@taskyard/roles';
import { readCircuitStates, RoleQueues, TaskyardKeys } from '@taskyard/store';
import { Notifier } from '../notifier';
import { Circuits } from './circuits';
import { isHandBack } from './hand-back';

// Two replicas' circuit breakers in one process, on the suite's real Redis.
const prefix = `t-${randomBytes(4).toString('hex')}`;
const redisUrl = inject('redisUrl');
const role = defineRole({
  name: 'flaky',
  description: 'a role with a breaker',
  input: z.unknown(),
  timeoutMs: 1000,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeoutMs: 300, rollingWindowMs: 10_000 },
  handler: async () => undefined,
});
const plain = defineRole({ name: 'plain', description: 'no breaker', input: z.unknown(), handler: async () => undefined });
const registry = new RoleRegistry([role, plain]);
const keys = new TaskyardKeys(prefix);
const redis = new Redis(redisUrl);
const queues = new RoleQueues(redis, keys, registry.names());
const logger = createLogger({ name: 'test', level: 'silent' });

/** One replica's circuits, following the others through a notifier of its own (as a worker process does). */
function replica(name: string): { circuits: Circuits; notifier: Notifier; metrics: Registry } {
  const metrics = new Registry();
  const circuits = new Circuits({ roles: [role, plain], redis, keys, queues, logger, registry: metrics, replica: name });
  const notifier = new Notifier({ redisUrl }, logger, name);
  circuits.attach(notifier);
  return { circuits, notifier, metrics };
}
const [replicaA, replicaB] = [replica('a'), replica('b')];
const [a, b] = [replicaA.circuits, replicaB.circuits];

afterAll(async () => {
  a.close();
  b.close();
  await Promise.all([replicaA.notifier.close(), replicaB.notifier.close()]);
  const found = [...(await redis.keys(`${prefix}:*`)), ...(await redis.keys(`${prefix}{*`))];
  if (found.length > 0) await redis.del(...found);
  await queues.close();
  redis.disconnect();
});

const fail = () => Promise.reject(new TransientTaskError('down'));
const succeed = () => Promise.resolve('ok');
async function outcome(run: Promise<unknown>): Promise<string> {
  try {
    return String(await run);
  } catch (err) {
    return isHandBack(err) ? 'handed back' : err instanceof Error ? err.message : String(err);
  }
}
const stateOf = async () => (await readCircuitStates(redis, keys, [role, plain])).get('flaky');
/** Replica a's own view of the circuit (its gauge: 0 closed, 1 half-open, 2 open). */
const viewOfA = async () => (await replicaA.metrics.getSingleMetric('taskyard_circuit_state')!.get()).values.find((value) => value.labels['role'] === 'flaky')?.value;
/** The reset timeout has passed: the shared circuit and replica a's own say half-open. */
const viewOfB = async () => (await replicaB.metrics.getSingleMetric('taskyard_circuit_state')!.get()).values.find((value) => value.labels['role'] === 'flaky')?.value;
const halfOpen = async () => (await stateOf()) === 'half-open' && (await viewOfA()) === 1;

describe('circuits shared by two replicas', () => {
  it('open everywhere when one replica trips, hold the queue, and let exactly one probe close them', async () => {
    await Promise.all([replicaA.notifier.start(), replicaB.notifier.start()]);
    // Roles without a breaker run straight through.
    expect(await a.guard('plain')(succeed)).toBe('ok');

    // Permanent errors are the task's fault: they never trip the breaker.
    for (let i = 0; i < 4; i++) await outcome(a.guard('flaky')(() => Promise.reject(new PermanentTaskError('bad'))));
    expect(await stateOf()).toBe('closed');
    expect(await a.guard('flaky')(succeed)).toBe('ok');

    // Transient failures in replica a trip it: the shared circuit opens and the queue is held.
    // (5 runs counted as successes so far: it takes 6 failures to pass 50 %.)
    const outcomes: string[] = [];
    for (let i = 0; i < 7; i++) outcomes.push(await outcome(a.guard('flaky')(fail)));
    expect(outcomes).toEqual([...Array<string>(6).fill('down'), 'handed back']);
    await expect.poll(stateOf).toBe('open');
    expect(await redis.pttl(queues.get('flaky').toKey('limiter'))).toBeGreaterThan(0);
    // Replica b follows through the channel and hands its jobs back without running them.
    let ran = false;
    await expect
      .poll(() =>
        outcome(
          b.guard('flaky')(async () => {
            ran = true;
            return 'ran';
          }),
        ),
      )
      .toBe('handed back');
    expect(ran).toBe(false);

    // After the reset timeout: one probe across both replicas (the other hands back).
    await expect.poll(halfOpen, { timeout: 5000 }).toBe(true);
    let release: (value: string) => void = () => undefined;
    const slowProbe = () => new Promise<string>((resolve) => (release = resolve));
    const first = a.guard('flaky')(slowProbe);
    const firstOutcome = outcome(first);
    // Replica a holds the probe lock while its probe runs.
    await expect.poll(() => redis.exists(keys.breakerProbe('flaky'))).toBe(1);
    expect(await outcome(b.guard('flaky')(succeed))).toBe('handed back');
    expect(await outcome(a.guard('flaky')(succeed))).toBe('handed back');
    release('probed');
    expect(await firstOutcome).toBe('probed');

    // The probe's success closed the circuit everywhere.
    expect(await stateOf()).toBe('closed');
    await expect.poll(() => outcome(b.guard('flaky')(succeed))).toBe('ok');
    expect(await redis.exists(keys.breaker('flaky'), keys.breakerProbe('flaky'))).toBe(0);
  });

  it('take a probe that ends in a permanent error as no verdict: still half-open, the probe free for the next task', async () => {
    // Trip it again (a closed circuit counts afresh).
    for (let i = 0; i < 3; i++) await outcome(a.guard('flaky')(fail));
    await expect.poll(stateOf).toBe('open');
    await expect.poll(halfOpen, { timeout: 5000 }).toBe(true);

    // A cancelled or invalid task says nothing about the downstream.
    expect(await outcome(a.guard('flaky')(() => Promise.reject(new PermanentTaskError('cancelled meanwhile'))))).toBe('cancelled meanwhile');
    expect(await stateOf()).toBe('half-open');
    expect(await redis.exists(keys.breakerProbe('flaky'))).toBe(0);

    // The next task probes, and its success closes the circuit: on replica b once b too is half-open
    // (each replica leaves open on its own reset timer; under load b's can come after a's).
    await expect.poll(viewOfB, { timeout: 5000 }).toBe(1);
    expect(await outcome(b.guard('flaky')(succeed))).toBe('ok');
    await expect.poll(stateOf).toBe('closed');
  });
});
