import { createHash, randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import {
  canonicalJson,
  type Redis,
  type RoleQueues,
  type TaskMessage,
  type TaskyardKeys,
} from '@taskyard/shared';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

/** A job exactly as it was (or will be) added to its role's queue; its id is the message id. */
export interface QueuedJob {
  message: TaskMessage;
  options: JobsOptions;
}

/** One request under an Idempotency-Key, ready to be enqueued. */
export interface IdempotentWork<R> {
  /** The API key the Idempotency-Key belongs to: keys of different API keys never meet. */
  apiKeyId: string;
  idempotencyKey: string;
  /** requestFingerprint() of the request: the same key with another fingerprint is a 422. */
  fingerprint: string;
  /** The signed jobs this request enqueues, and the 202 body that answers it. */
  jobs: readonly QueuedJob[];
  response: R;
  /** A check that may refuse a first request (queue depth); a replay is never refused by it. Omit when there is none. */
  admit?: (() => Promise<void>) | undefined;
  /** Adds `jobs` to their queues for the first time. */
  enqueue: () => Promise<void>;
}

export interface IdempotentOutcome<R> {
  response: R;
  /** True when `response` is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** sha256 of the canonical JSON of the operation and its body: key order and spacing do not matter. */
export function requestFingerprint(operation: string, body: unknown): string {
  return sha256(canonicalJson({ body, operation }));
}

/**
 * Claims the key unless a record exists (then returns the record as
 * [fingerprint, claim, state, response, jobs]): one round trip, atomic, so of any number of
 * concurrent requests exactly one claims.
 */
const CLAIM_OR_READ = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'fingerprint', 'claim', 'state', 'response', 'jobs')
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'claim', ARGV[2], 'state', 'pending', 'response', ARGV[3], 'jobs', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return false`;

/** Marks the record done (dropping its jobs, which are in their queues now) if it is still the same claim. */
const SETTLE = `
if redis.call('HGET', KEYS[1], 'claim') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'done')
  redis.call('HDEL', KEYS[1], 'jobs')
end
return 1`;

interface StoredRecord {
  fingerprint: string;
  claim: string;
  state: 'pending' | 'done';
  response: string;
  jobs: string | null;
}

/**
 * Idempotency-Key support for task submission: the same key from the same API key within
 * IDEMPOTENCY_TTL answers the original response and never enqueues twice, even when many such
 * requests arrive at once, on any API replica, or the replica that took the first one dies.
 *
 * The record (a hash under TaskyardKeys.idempotency(apiKeyId, sha256(key)), expiring after the
 * TTL) goes through two states:
 * 1. The first request signs its messages, then atomically claims the key, storing the request's
 *    fingerprint, its 202 body and its jobs ("pending").
 * 2. It adds the jobs (job id = message id) and marks the record "done", dropping the jobs.
 * Any other request with the key reads the record: a different fingerprint is a 422
 * IDEMPOTENCY_KEY_REUSED; the same one gets the stored 202 body. If the record is still pending,
 * that request first adds the stored jobs again: BullMQ skips a job whose id exists, so this
 * never enqueues twice, and if the first request died (or lost Redis) between claiming and
 * enqueueing, its retry enqueues exactly the tasks whose ids were claimed, so accepted work is
 * never lost. A request refused before the claim (validation, QUEUE_FULL) leaves no record.
 *
 * Limit: a first request that dies after enqueueing but before marking the record done leaves it
 * pending; a retry after its tasks finished and were removed by retention adds them again, and
 * the workers' effects ledger skips them only while it still holds them (the role's retry window).
 */
export class IdempotencyLedger {
  constructor(
    private readonly redis: Redis,
    private readonly queues: RoleQueues,
    private readonly keys: TaskyardKeys,
    private readonly ttlMs: number,
  ) {}

  async submit<R>(work: IdempotentWork<R>): Promise<IdempotentOutcome<R>> {
    const recordKey = this.keys.idempotency(work.apiKeyId, sha256(work.idempotencyKey));
    if (work.admit) {
      // Read before admitting: a replay must be answered even when the queue is full now.
      const existing = await this.read(recordKey);
      if (existing) return this.replay<R>(recordKey, existing, work.fingerprint);
      await work.admit();
    }
    const claim = randomUUID();
    const reply = await withRedis(this.redis, () =>
      this.redis.eval(
        CLAIM_OR_READ,
        1,
        recordKey,
        work.fingerprint,
        claim,
        JSON.stringify(work.response),
        JSON.stringify(work.jobs),
        String(this.ttlMs),
      ),
    );
    const existing = toRecord(reply);
    if (existing) return this.replay<R>(recordKey, existing, work.fingerprint);

    await work.enqueue();
    await this.settle(recordKey, claim);
    return { response: work.response, replayed: false };
  }

  private async replay<R>(recordKey: string, record: StoredRecord, fingerprint: string): Promise<IdempotentOutcome<R>> {
    if (record.fingerprint !== fingerprint) {
      throw new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was already used for a different request; use a new key for new work',
      );
    }
    if (record.state === 'pending' && record.jobs !== null) {
      await this.redrive(JSON.parse(record.jobs) as QueuedJob[]);
      await this.settle(recordKey, record.claim);
    }
    return { response: JSON.parse(record.response) as R, replayed: true };
  }

  /** Adds a pending record's jobs again; those already in a queue are left as they are. */
  private async redrive(jobs: readonly QueuedJob[]): Promise<void> {
    await withRedis(this.redis, () => this.queues.addAll(jobs));
  }


  /**
   * Best effort: the tasks are in their queues, so the request has succeeded whether or not the
   * record says so. A record left pending only makes a later replay add the jobs again (a no-op).
   */
  private async settle(recordKey: string, claim: string): Promise<void> {
    try {
      await withRedis(this.redis, () => this.redis.eval(SETTLE, 1, recordKey, claim));
    } catch {
      // See above: not worth failing an accepted request for.
    }
  }

  private async read(recordKey: string): Promise<StoredRecord | undefined> {
    const reply = await withRedis(this.redis, () =>
      this.redis.hmget(recordKey, 'fingerprint', 'claim', 'state', 'response', 'jobs'),
    );
    return toRecord(reply);
  }
}

/** A record from HMGET's reply, or undefined when there is none (or the script claimed the key). */
function toRecord(reply: unknown): StoredRecord | undefined {
  if (!Array.isArray(reply)) return undefined;
  const [fingerprint, claim, state, response, jobs] = reply as (string | null)[];
  if (typeof fingerprint !== 'string' || typeof claim !== 'string' || typeof response !== 'string') return undefined;
  return { fingerprint, claim, state: state === 'done' ? 'done' : 'pending', response, jobs: jobs ?? null };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
