import {
  circuitStateAt,
  encodeCircuitEvent,
  parseSharedCircuit,
  SHARED_CIRCUIT_FIELDS,
  sharedCircuitFields,
  type CircuitState,
  type SharedCircuit,
} from '@taskyard/contracts';
import type { RedisClient } from './redis-client';
import type { RoleQueues } from './role-queues';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/**
 * How long an open record outlives its open period. Past `until` the record says half-open
 * until a probe decides; a role nobody runs any more (or that gets no task) is forgotten after this.
 */
const RECORD_GRACE_MS = 24 * 60 * 60 * 1000;

export interface CircuitStoreOptions {
  redis: RedisClient;
  keys: TaskyardKeys;
  queues: RoleQueues;
  role: string;
  /** This replica's name, written as the origin of what it changes. */
  replica: string;
}

export type ProbeClaim = { claimed: true } | { claimed: false; until: number };

/**
 * A role's circuit in Redis, where every replica and the API see it: the open record
 * (TaskyardKeys.breaker), a hold on the role's queue (BullMQ's queue limiter, which keeps every
 * replica from fetching the role's jobs), the probe lock, and the transition events on
 * TaskyardKeys.breakerChannel. The record, the probe lock and the event change in one MULTI
 * (one hash slot: the role's); the hold follows (queue.rateLimit), and it expires by itself, so a
 * replica that dies in between leaves the hold to time out and the others to follow the event.
 */
export class CircuitStore {
  constructor(private readonly options: CircuitStoreOptions) {}

  /** Opens the circuit in every replica until `circuit.until`. */
  async open(circuit: SharedCircuit): Promise<void> {
    const { redis, keys, queues, role, replica } = this.options;
    const ttl = Math.max(1, circuit.until - Date.now());
    await exec(
      redis
        .multi()
        .hset(keys.breaker(role), sharedCircuitFields(circuit))
        .pexpire(keys.breaker(role), ttl + RECORD_GRACE_MS)
        .del(keys.breakerProbe(role))
        .publish(keys.breakerChannel, encodeCircuitEvent({ role, to: 'open', until: circuit.until, origin: replica, reason: circuit.reason })),
    );
    await queues.hold(role, ttl);
  }

  /** Closes the circuit in every replica and lifts the hold on the queue. */
  async close(reason: string): Promise<void> {
    const { redis, keys, queues, role, replica } = this.options;
    await exec(
      redis
        .multi()
        .del(keys.breaker(role))
        .del(keys.breakerProbe(role))
        .publish(keys.breakerChannel, encodeCircuitEvent({ role, to: 'closed', origin: replica, reason })),
    );
    await queues.release(role);
  }

  /** Takes the one probe of a half-open circuit, for `ttlMs` at most (the holder may die). */
  async claimProbe(ttlMs: number, now = Date.now()): Promise<ProbeClaim> {
    const { redis, keys, role, replica } = this.options;
    const [claimed, until] = (await withScripts(redis).taskyardClaimCircuitProbe(keys.breaker(role), keys.breakerProbe(role), now, replica, ttlMs)) as [number, number];
    return claimed === 1 ? { claimed: true } : { claimed: false, until: Number(until) };
  }

  /** Gives back a probe lock this replica took but did not use. */
  async releaseProbe(): Promise<void> {
    const { redis, keys, role } = this.options;
    await redis.del(keys.breakerProbe(role));
  }

  /** Keeps every replica from fetching the role's jobs for `ms`. */
  holdQueue(ms: number): Promise<void> {
    return this.options.queues.hold(this.options.role, ms);
  }
}

/**
 * The shared circuit record of each of `roles` that has a breaker (one command each, in
 * parallel: one round trip; on a cluster each goes to its role's node). Roles without a breaker
 * are absent from the result.
 */
export async function readSharedCircuits(
  redis: RedisClient,
  keys: TaskyardKeys,
  roles: readonly { name: string; breaker?: unknown }[],
): Promise<Map<string, SharedCircuit | undefined>> {
  const guarded = roles.filter((role) => role.breaker);
  const records = await Promise.all(guarded.map((role) => redis.hmget(keys.breaker(role.name), ...SHARED_CIRCUIT_FIELDS)));
  return new Map(guarded.map((role, index) => [role.name, parseSharedCircuit(records[index]!)]));
}

/** The circuit state of every role in `roles` at `now` (`closed` for roles without a breaker). */
export async function readCircuitStates(
  redis: RedisClient,
  keys: TaskyardKeys,
  roles: readonly { name: string; breaker?: unknown }[],
  now = Date.now(),
): Promise<Map<string, CircuitState>> {
  const shared = await readSharedCircuits(redis, keys, roles);
  return new Map(roles.map((role) => [role.name, circuitStateAt(shared.get(role.name), now)]));
}

/** Runs a MULTI and fails if any of its commands failed. */
async function exec(multi: ReturnType<RedisClient['multi']>): Promise<void> {
  const replies = await multi.exec();
  if (!replies) throw new Error('circuit breaker transaction aborted');
  const failed = replies.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}
