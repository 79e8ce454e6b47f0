import {
  encodeCircuitEvent,
  parseSharedCircuit,
  SHARED_CIRCUIT_FIELDS,
  sharedCircuitFields,
  type Redis,
  type SharedCircuit,
  type TaskyardKeys,
} from '@taskyard/shared';

/**
 * How long an open record outlives its open period. Past `until` the record says half-open
 * until a probe decides; a role nobody runs any more (or that gets no task) is forgotten after this.
 */
const RECORD_GRACE_MS = 24 * 60 * 60 * 1000;

/** What BullMQ's queue.rateLimit() writes: a count no limiter max reaches, so the queue is limited until the key expires. */
const LIMITED = Number.MAX_SAFE_INTEGER;

/**
 * The probe may start only when the shared open period has passed (a replica whose reset timer
 * ran early, or that missed a reopen, must not probe), and only one replica gets it.
 * KEYS: record, probe lock. ARGV: now, holder, lock ttl ms. Returns 1, or 0 and the record's `until`.
 */
const CLAIM_PROBE = `
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'until') or '0') or 0
if untilMs > tonumber(ARGV[1]) then return {0, untilMs} end
if redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX') then return {1, untilMs} end
return {0, untilMs}
`;

export interface StoreOptions {
  redis: Redis;
  keys: TaskyardKeys;
  role: string;
  /** The role queue's BullMQ limiter key (queue.keys.limiter). */
  limiterKey: string;
  /** This replica's name, written as the origin of what it changes. */
  replica: string;
}

export type ProbeClaim = { claimed: true } | { claimed: false; until: number };

/**
 * A role's circuit in Redis, where every replica and the API see it: the open record
 * (TaskyardKeys.breaker), the queue's BullMQ limiter (which keeps every replica from fetching
 * the role's jobs), the probe lock, and the transition events on TaskyardKeys.breakerChannel.
 * Each change is one MULTI: the record, the limiter and the event never disagree.
 */
export class SharedCircuitStore {
  constructor(private readonly options: StoreOptions) {}

  /** Opens the circuit in every replica until `circuit.until`. */
  async open(circuit: SharedCircuit): Promise<void> {
    const { redis, keys, role, limiterKey, replica } = this.options;
    const ttl = Math.max(1, circuit.until - Date.now());
    await exec(
      redis
        .multi()
        .hset(keys.breaker(role), sharedCircuitFields(circuit))
        .pexpire(keys.breaker(role), ttl + RECORD_GRACE_MS)
        .set(limiterKey, LIMITED, 'PX', ttl)
        .del(keys.breakerProbe(role))
        .publish(keys.breakerChannel, encodeCircuitEvent({ role, to: 'open', until: circuit.until, origin: replica, reason: circuit.reason })),
    );
  }

  /** Closes the circuit in every replica and lifts the hold on the queue. */
  async close(reason: string): Promise<void> {
    const { redis, keys, role, limiterKey, replica } = this.options;
    await exec(
      redis
        .multi()
        .del(keys.breaker(role), limiterKey, keys.breakerProbe(role))
        .publish(keys.breakerChannel, encodeCircuitEvent({ role, to: 'closed', origin: replica, reason })),
    );
  }

  /** Takes the one probe of a half-open circuit, for `ttlMs` at most (the holder may die). */
  async claimProbe(ttlMs: number, now = Date.now()): Promise<ProbeClaim> {
    const { redis, keys, role, replica } = this.options;
    const [claimed, until] = (await redis.eval(CLAIM_PROBE, 2, keys.breaker(role), keys.breakerProbe(role), now, replica, ttlMs)) as [number, number];
    return claimed === 1 ? { claimed: true } : { claimed: false, until: Number(until) };
  }

  /** Gives back a probe lock this replica took but did not use. */
  async releaseProbe(): Promise<void> {
    const { redis, keys, role } = this.options;
    await redis.del(keys.breakerProbe(role));
  }

  /** Keeps every replica from fetching the role's jobs for `ms` (what queue.rateLimit(ms) does). */
  async holdQueue(ms: number): Promise<void> {
    await this.options.redis.set(this.options.limiterKey, LIMITED, 'PX', ms);
  }

  /** The open record, if the circuit is open or half-open. */
  async read(): Promise<SharedCircuit | undefined> {
    const { redis, keys, role } = this.options;
    return parseSharedCircuit(await redis.hmget(keys.breaker(role), ...SHARED_CIRCUIT_FIELDS));
  }
}

/** Runs a MULTI and fails if any of its commands failed. */
async function exec(multi: ReturnType<Redis['multi']>): Promise<void> {
  const replies = await multi.exec();
  if (!replies) throw new Error('circuit breaker transaction aborted');
  const failed = replies.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}
