import type { Redis } from 'ioredis';
import type { TaskyardKeys } from '../queue/taskyard-keys';
import { decodeDeadLetterCursor, encodeDeadLetterCursor, type DeadLetterPosition } from './dead-letter-cursor';
import { DeadLetterSchema, type DeadLetter } from './dead-letter';

/**
 * Claims the replay of a dead letter: the first caller's message is stored and every caller gets
 * the stored one back, so concurrent replays enqueue the same message (same job id: one task).
 * Nothing is claimed once the dead letter is gone, so a replay that lost the race to a finished
 * one cannot enqueue a second task. KEYS: dead letter, replay; ARGV: message JSON, ttl ms.
 */
const CLAIM_REPLAY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
return redis.call('GET', KEYS[2])
`;

export interface DeadLetterPage {
  items: DeadLetter[];
  nextCursor: string | null;
}

/**
 * Dead letters in Redis: one string key per dead task (expiring DEAD_LETTER_TTL after it died),
 * plus sorted sets of ids scored by death time, one of all and one per role, for listing. Index
 * entries do not expire by themselves: they are pruned by score on every write and read, and an
 * entry whose record is gone is skipped and removed.
 */
export class DeadLetterStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: TaskyardKeys,
    private readonly ttlMs: number,
  ) {}

  /** Stores a dead letter; writing the same task again replaces it (one dead letter per task). */
  async put(letter: DeadLetter): Promise<void> {
    const score = Date.parse(letter.deadAt);
    const indexes = [this.keys.deadLetterIndex(), this.keys.deadLetterIndex(letter.role)];
    const multi = this.redis
      .multi()
      .set(this.keys.deadLetter(letter.id), JSON.stringify(letter), 'PX', this.ttlMs)
      // A new death is replayed afresh, not as a replay claimed for an earlier one.
      .del(this.keys.deadLetterReplay(letter.id));
    for (const index of indexes) {
      multi
        .zadd(index, score, letter.id)
        .zremrangebyscore(index, '-inf', this.expiredBefore(score))
        // An index outlives its newest entry by the TTL at most: an idle deployment's goes away.
        .pexpire(index, this.ttlMs);
    }
    await exec(multi);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    return parse(await this.redis.get(this.keys.deadLetter(id)));
  }

  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.deadLetter(id))) === 1;
  }

  /** One page, newest first; `cursor` is a previous page's nextCursor (validate it with isValidCursor). */
  async list({ role, limit, cursor }: { role?: string | undefined; limit: number; cursor?: string | undefined }): Promise<DeadLetterPage> {
    const index = this.keys.deadLetterIndex(role);
    const after = cursor === undefined ? undefined : decodeDeadLetterCursor(cursor);
    if (cursor !== undefined && !after) throw new Error('invalid dead letter cursor');
    await this.prune(index);
    const positions = after ? await this.positionsAfter(index, after, limit + 1) : await this.newest(index, '+inf', limit + 1);
    const page = positions.slice(0, limit);
    const last = page.at(-1);
    return {
      items: await this.load(index, page.map((position) => position.id)),
      nextCursor: positions.length > limit && last ? encodeDeadLetterCursor(last) : null,
    };
  }

  /** Up to `limit` ids of a role's dead letters, oldest first. */
  async oldestIds(role: string, limit: number): Promise<string[]> {
    const index = this.keys.deadLetterIndex(role);
    await this.prune(index);
    return this.redis.zrange(index, 0, limit - 1);
  }

  /** How many dead letters a role (or, without one, the deployment) keeps. */
  async count(role?: string): Promise<number> {
    const index = this.keys.deadLetterIndex(role);
    const [, count] = (await exec(this.redis.multi().zremrangebyscore(index, '-inf', this.expiredBefore(Date.now())).zcard(index))) as [
      number,
      number,
    ];
    return count;
  }

  /**
   * Claims the replay of dead letter `id` with `message` (JSON); answers the message to enqueue
   * (this one, or the one an earlier or concurrent replay claimed), or undefined when the dead
   * letter is gone. Enqueue the answer under its own id, then remove() the dead letter.
   */
  async claimReplay(id: string, message: string): Promise<string | undefined> {
    const claimed = (await this.redis.eval(CLAIM_REPLAY, 2, this.keys.deadLetter(id), this.keys.deadLetterReplay(id), message, this.ttlMs)) as
      | string
      | null;
    return claimed ?? undefined;
  }

  /** Deletes a dead letter (and any replay claim); false when there was none. */
  async remove(id: string): Promise<boolean> {
    const key = this.keys.deadLetter(id);
    const [raw] = (await exec(this.redis.multi().get(key).del(key, this.keys.deadLetterReplay(id)))) as [string | null, number];
    const role = roleOf(raw);
    const multi = this.redis.multi().zrem(this.keys.deadLetterIndex(), id);
    if (role) multi.zrem(this.keys.deadLetterIndex(role), id);
    await exec(multi);
    return raw !== null;
  }

  private expiredBefore(nowMs: number): number {
    return nowMs - this.ttlMs;
  }

  private async prune(index: string): Promise<void> {
    await this.redis.zremrangebyscore(index, '-inf', this.expiredBefore(Date.now()));
  }

  private async newest(index: string, max: string, count: number): Promise<DeadLetterPosition[]> {
    return toPositions(await this.redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, count));
  }

  /**
   * The entries after a position, newest first. Entries that died in the same millisecond are
   * ordered by id (as ZREVRANGEBYSCORE orders ties), so the position's own ties come first.
   */
  private async positionsAfter(index: string, after: DeadLetterPosition, count: number): Promise<DeadLetterPosition[]> {
    const [ties, older] = await Promise.all([
      this.redis.zrangebyscore(index, after.deadAtMs, after.deadAtMs),
      this.newest(index, `(${after.deadAtMs}`, count),
    ]);
    const sameTime = ties
      .filter((id) => id < after.id)
      .sort()
      .reverse()
      .map((id) => ({ deadAtMs: after.deadAtMs, id }));
    return [...sameTime, ...older].slice(0, count);
  }

  /** The records of `ids` in order; ids whose record is gone (expired) are dropped from the index. */
  private async load(index: string, ids: string[]): Promise<DeadLetter[]> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.keys.deadLetter(id)));
    const letters: DeadLetter[] = [];
    const gone: string[] = [];
    raws.forEach((raw, at) => {
      const letter = parse(raw);
      if (letter) letters.push(letter);
      else if (raw === null) gone.push(ids[at]!);
    });
    if (gone.length > 0) await this.redis.zrem(index, ...gone);
    return letters;
  }
}

/** Parses a stored record; Redis is a trust boundary, so one that is not a dead letter reads as absent. */
function parse(raw: string | null): DeadLetter | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = DeadLetterSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function roleOf(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  try {
    const role = (JSON.parse(raw) as { role?: unknown }).role;
    return typeof role === 'string' ? role : undefined;
  } catch {
    return undefined;
  }
}

function toPositions(flat: string[]): DeadLetterPosition[] {
  const positions: DeadLetterPosition[] = [];
  for (let at = 0; at + 1 < flat.length; at += 2) positions.push({ id: flat[at]!, deadAtMs: Number(flat[at + 1]) });
  return positions;
}

/** Runs a MULTI and throws its first command error (ioredis reports them per command). */
async function exec(multi: ReturnType<Redis['multi']>): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
