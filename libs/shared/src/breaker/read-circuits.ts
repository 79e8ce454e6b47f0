import type { Redis } from 'ioredis';
import type { AnyRole } from '../contracts/role';
import type { TaskyardKeys } from '../queue/taskyard-keys';
import { circuitStateAt, parseSharedCircuit, SHARED_CIRCUIT_FIELDS, type CircuitState, type SharedCircuit } from './circuit-state';

/**
 * The shared circuit record of each role that has a breaker, in one pipelined round trip (none
 * when no role has a breaker). Roles without a breaker are absent from the result.
 */
export async function readSharedCircuits(redis: Redis, keys: TaskyardKeys, roles: readonly AnyRole[]): Promise<Map<string, SharedCircuit | undefined>> {
  const guarded = roles.filter((role) => role.breaker);
  const result = new Map<string, SharedCircuit | undefined>();
  if (guarded.length === 0) return result;
  const pipeline = redis.pipeline();
  for (const role of guarded) pipeline.hmget(keys.breaker(role.name), ...SHARED_CIRCUIT_FIELDS);
  const replies = (await pipeline.exec()) ?? [];
  guarded.forEach((role, index) => {
    const [err, values] = replies[index] ?? [new Error('no reply'), null];
    if (err) throw err;
    result.set(role.name, parseSharedCircuit(values as (string | null)[]));
  });
  return result;
}

/** The circuit state of every role in `roles` at `now` (`closed` for roles without a breaker). */
export async function readCircuitStates(redis: Redis, keys: TaskyardKeys, roles: readonly AnyRole[], now = Date.now()): Promise<Map<string, CircuitState>> {
  const shared = await readSharedCircuits(redis, keys, roles);
  return new Map(roles.map((role) => [role.name, circuitStateAt(shared.get(role.name), now)]));
}
