import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '@taskyard/crypto';
import type { IdempotencyRecord, IdempotencyRecords, QueuedJob, RedisClient } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

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
  /** Adds `jobs` of a pending record again (those already in a queue are left as they are). */
  redrive: (jobs: readonly QueuedJob[]) => Promise<void>;
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
 * Idempotency-Key support for task submission: the same key from the same API key within
 * IDEMPOTENCY_TTL answers the original response and never enqueues twice, even when many such
 * requests arrive at once, on any API replica, or the replica that took the first one dies.
 *
 * The record (IdempotencyRecords, expiring after the TTL) goes through two states:
 * 1. The first request signs its messages, then atomically claims the key, storing the request's
 *    fingerprint, its 202 body and its jobs ("pending").
 * 2. It adds the jobs (job id = message id) and marks the record "done", dropping the jobs.
 * Any other request with the key reads the record: a different fingerprint is a 422
 * IDEMPOTENCY_KEY_REUSED; the same one gets the stored 202 body. If the record is still pending,
 * that request first adds the stored jobs again: BullMQ skips a job whose id exists, so this
 * never enqueues twice, and if the first request died (or lost Redis) between claiming and
 * enqueueing — or, on a Redis Cluster, got only some roles' share of a fan-out in — its retry
 * enqueues exactly the tasks whose ids were claimed, so accepted work is never lost. A request
 * refused before the claim (validation, QUEUE_FULL) leaves no record.
 *
 * Limit: a first request that dies after enqueueing but before marking the record done leaves it
 * pending; a retry after its tasks finished and were removed by retention adds them again, and
 * the workers' effects ledger skips them only while it still holds them (the role's retry window).
 */
export class IdempotencyLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly records: IdempotencyRecords,
    private readonly ttlMs: number,
  ) {}

  async submit<R>(work: IdempotentWork<R>): Promise<IdempotentOutcome<R>> {
    const keyHash = sha256(work.idempotencyKey);
    if (work.admit) {
      // Read before admitting: a replay must be answered even when the queue is full now.
      const existing = await withRedis(this.redis, () => this.records.read(work.apiKeyId, keyHash));
      if (existing) return this.replay<R>(work, keyHash, existing);
      await withRedis(this.redis, work.admit);
    }
    const claim = randomUUID();
    const existing = await withRedis(this.redis, () =>
      this.records.claimOrRead(work.apiKeyId, keyHash, {
        fingerprint: work.fingerprint,
        claim,
        response: JSON.stringify(work.response),
        jobs: JSON.stringify(work.jobs),
        ttlMs: this.ttlMs,
      }),
    );
    if (existing) return this.replay<R>(work, keyHash, existing);
    await withRedis(this.redis, work.enqueue);
    await this.settle(work.apiKeyId, keyHash, claim);
    return { response: work.response, replayed: false };
  }

  private async replay<R>(work: IdempotentWork<R>, keyHash: string, record: IdempotencyRecord): Promise<IdempotentOutcome<R>> {
    if (record.fingerprint !== work.fingerprint) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different request; use a new key for new work');
    }
    if (record.state === 'pending' && record.jobs !== null) {
      const jobs = JSON.parse(record.jobs) as QueuedJob[];
      await withRedis(this.redis, () => work.redrive(jobs));
      await this.settle(work.apiKeyId, keyHash, record.claim);
    }
    return { response: JSON.parse(record.response) as R, replayed: true };
  }

  /**
   * Best effort: the tasks are in their queues, so the request has succeeded whether or not the
   * record says so. A record left pending only makes a later replay add the jobs again (a no-op).
   */
  private async settle(apiKeyId: string, keyHash: string, claim: string): Promise<void> {
    try {
      await withRedis(this.redis, () => this.records.settle(apiKeyId, keyHash, claim));
    } catch {
      // See above: not worth failing an accepted request for.
    }
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
