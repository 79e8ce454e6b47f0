import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** The record of an Idempotency-Key: who claimed it, for which request, what it answered, and the jobs while they may still need adding. */
export interface IdempotencyRecord {
  fingerprint: string;
  claim: string;
  state: 'pending' | 'done';
  response: string;
  /** The signed jobs (JSON) while the record is pending; null once done. */
  jobs: string | null;
}

export interface IdempotencyClaim {
  fingerprint: string;
  claim: string;
  /** The 202 body, JSON. */
  response: string;
  /** The signed jobs, JSON. */
  jobs: string;
  ttlMs: number;
}

const FIELDS = ['fingerprint', 'claim', 'state', 'response', 'jobs'] as const;

/**
 * The Redis side of Idempotency-Key support: one hash per (API key, sha256 of the header),
 * expiring after IDEMPOTENCY_TTL, claimed and settled by scripts. The rules are the API's.
 */
export class IdempotencyRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
  ) {}

  /** Claims the key with `claim` (undefined: claimed now), or returns the record that already holds it. Atomic. */
  async claimOrRead(apiKeyId: string, keyHash: string, claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    const reply = await withScripts(this.redis).taskyardClaimIdempotencyKey(
      this.keys.idempotency(apiKeyId, keyHash),
      claim.fingerprint,
      claim.claim,
      claim.response,
      claim.jobs,
      claim.ttlMs,
    );
    return toRecord(reply);
  }

  async read(apiKeyId: string, keyHash: string): Promise<IdempotencyRecord | undefined> {
    return toRecord(await this.redis.hmget(this.keys.idempotency(apiKeyId, keyHash), ...FIELDS));
  }

  /** Marks the record done (dropping its jobs) if `claim` still holds it. */
  async settle(apiKeyId: string, keyHash: string, claim: string): Promise<void> {
    await withScripts(this.redis).taskyardSettleIdempotencyKey(this.keys.idempotency(apiKeyId, keyHash), claim);
  }
}

/** A record from HMGET's reply, or undefined when there is none (or the script claimed the key). */
function toRecord(reply: unknown): IdempotencyRecord | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [fingerprint, claim, state, response, jobs] = reply as (string | null)[];
  if (typeof fingerprint !== 'string' || typeof claim !== 'string' || typeof response !== 'string') return undefined;
  return { fingerprint, claim, state: state === 'done' ? 'done' : 'pending', response, jobs: jobs ?? null };
}
