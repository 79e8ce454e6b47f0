import {
  DeadLetterSchema,
  decodeDeadLetterCursor,
  encodeDeadLetterCursor,
  roleOfTaskId,
  type DeadLetter,
  type DeadLetterPosition,
} from '@taskyard/contracts';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';
import { parseStored } from './parse-json';

export interface ListOptions {
  roles: readonly string[];
  limit: number;
  cursor?: string | undefined;
  /** Which letters the caller may see (a tenant's); all when absent. */
  visible?: ((letter: DeadLetter) => boolean) | undefined;
}

/** The most index entries one filtered list request looks at (a tenant with few letters among many). */
export const MAX_SCANNED_PER_PAGE = 5000;
const FILTERED_BATCH = 200;
/** Sorts before every task id (they start with a letter): a cursor position at the end of a millisecond. */
const BEFORE_EVERY_ID = '0';

export interface DeadLetterPage {
  items: DeadLetter[];
  nextCursor: string | null;
}

/**
 * Dead letters in Redis: one string key per dead task (expiring DEAD_LETTER_TTL after it died)
 * and, per role, a sorted set of its dead letters' ids scored by death time, for listing. All of
 * a dead letter's keys are in its role's hash slot (a write is one MULTI there); a list across
 * roles reads every role's index and merges them. Index entries do not expire by themselves:
 * they are pruned by score on every write and read, and an entry whose record is gone is skipped
 * and removed.
 */
export class DeadLetterStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly ttlMs: number,
  ) {}

  /** Stores a dead letter; writing the same task again replaces it (one dead letter per task). */
  async put(letter: DeadLetter): Promise<void> {
    const score = Date.parse(letter.deadAt);
    const index = this.keys.deadLetterIndex(letter.role);
    await exec(
      this.redis
        .multi()
        .set(this.keys.deadLetter(letter.id), JSON.stringify(letter), 'PX', this.ttlMs)
        // A new death is replayed afresh, not as a replay claimed for an earlier one.
        .del(this.keys.deadLetterReplay(letter.id))
        .zadd(index, score, letter.id)
        .zremrangebyscore(index, '-inf', this.expiredBefore(score))
        // An index outlives its newest entry by the TTL at most: an idle role's goes away.
        .pexpire(index, this.ttlMs),
    );
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!roleOfTaskId(id)) return undefined;
    return parse(await this.redis.get(this.keys.deadLetter(id)));
  }

  /**
   * One page, newest first, of `roles`' dead letters (one role, or every role of the
   * deployment); `cursor` is a previous page's nextCursor (check it with decodeDeadLetterCursor).
   * With `visible` (a tenant's view), letters it refuses are skipped: the index is read on until
   * the page is full or `MAX_SCANNED_PER_PAGE` entries were looked at, so a page may come back
   * short (its nextCursor goes on from the last entry looked at).
   */
  async list({ roles, limit, cursor, visible }: ListOptions): Promise<DeadLetterPage> {
    let after = cursor === undefined ? undefined : decodeDeadLetterCursor(cursor);
    if (cursor !== undefined && !after) throw new Error('invalid dead letter cursor');
    const items: DeadLetter[] = [];
    let scanned = 0;
    for (;;) {
      // A filtered page reads a batch at a time, so a tenant with few letters costs few rounds.
      const { positions, more } = await this.positions(roles, visible ? Math.max(limit, FILTERED_BATCH) : limit, after);
      const letters = await this.load(positions.map((position) => position.id));
      const byId = new Map(letters.map((letter) => [letter.id, letter]));
      for (const position of positions) {
        // Past the scan bound, stop at a millisecond's end: the cursor then names a time, not an
        // entry, so it never carries the id of a letter the caller may not see, and skips none.
        if (scanned >= MAX_SCANNED_PER_PAGE && after && position.deadAtMs !== after.deadAtMs) {
          return { items, nextCursor: encodeDeadLetterCursor({ deadAtMs: after.deadAtMs, id: BEFORE_EVERY_ID }) };
        }
        scanned += 1;
        after = position;
        const letter = byId.get(position.id);
        if (letter && (!visible || visible(letter))) items.push(letter);
        if (items.length === limit) return { items, nextCursor: more || position !== positions.at(-1) ? encodeDeadLetterCursor(position) : null };
      }
      if (!more) return { items, nextCursor: null };
    }
  }

  /** The next `limit` positions after `after` across `roles`, newest first, and whether there are more. */
  private async positions(roles: readonly string[], limit: number, after: DeadLetterPosition | undefined): Promise<{ positions: DeadLetterPosition[]; more: boolean }> {
    // The page of each role, then the newest `limit + 1` of their union.
    const perRole = await Promise.all(
      roles.map(async (role) => {
        const index = this.keys.deadLetterIndex(role);
        await this.prune(index);
        return after ? this.positionsAfter(index, after, limit + 1) : this.newest(index, '+inf', limit + 1);
      }),
    );
    const positions = perRole.flat().sort(newestFirst).slice(0, limit + 1);
    return { positions: positions.slice(0, limit), more: positions.length > limit };
  }

  /**
   * Up to `limit` ids of a role's dead letters, oldest first; with `visible`, of the letters it
   * accepts among the oldest MAX_SCANNED_PER_PAGE (read whole to be judged), and how many more of
   * those there are.
   */
  async oldestIds(role: string, limit: number, visible?: (letter: DeadLetter) => boolean): Promise<{ ids: string[]; more: number | undefined }> {
    const index = this.keys.deadLetterIndex(role);
    await this.prune(index);
    if (!visible) return { ids: await this.redis.zrange(index, 0, limit - 1), more: undefined };
    const letters = (await this.load(await this.redis.zrange(index, 0, MAX_SCANNED_PER_PAGE - 1))).filter(visible);
    return { ids: letters.slice(0, limit).map((letter) => letter.id), more: Math.max(0, letters.length - limit) };
  }

  /** How many dead letters a role keeps. */
  async count(role: string): Promise<number> {
    const index = this.keys.deadLetterIndex(role);
    const [, count] = (await exec(this.redis.multi().zremrangebyscore(index, '-inf', this.expiredBefore(Date.now())).zcard(index))) as [number, number];
    return count;
  }

  /**
   * Claims the replay of dead letter `id` with `message` (JSON); answers the message to enqueue
   * (this one, or the one an earlier or concurrent replay claimed), or undefined when the dead
   * letter is gone. Enqueue the answer under its own id, then remove() the dead letter.
   */
  async claimReplay(id: string, message: string): Promise<string | undefined> {
    const claimed = (await withScripts(this.redis).taskyardClaimDeadLetterReplay(this.keys.deadLetter(id), this.keys.deadLetterReplay(id), message, this.ttlMs)) as
      | string
      | null;
    return claimed ?? undefined;
  }

  /** Deletes a dead letter (and any replay claim); false when there was none. */
  async remove(id: string): Promise<boolean> {
    const role = roleOfTaskId(id);
    if (!role) return false;
    const key = this.keys.deadLetter(id);
    const [deleted] = (await exec(
      this.redis.multi().del(key).del(this.keys.deadLetterReplay(id)).zrem(this.keys.deadLetterIndex(role), id),
    )) as [number, number, number];
    return deleted === 1;
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
    const [ties, older] = await Promise.all([this.redis.zrangebyscore(index, after.deadAtMs, after.deadAtMs), this.newest(index, `(${after.deadAtMs}`, count)]);
    const sameTime = ties
      .filter((id) => id < after.id)
      .sort()
      .reverse()
      .map((id) => ({ deadAtMs: after.deadAtMs, id }));
    return [...sameTime, ...older].slice(0, count);
  }

  /** The records of `ids` in order; ids whose record is gone (expired) are dropped from their index. */
  private async load(ids: readonly string[]): Promise<DeadLetter[]> {
    if (ids.length === 0) return [];
    const raws = await Promise.all(ids.map((id) => this.redis.get(this.keys.deadLetter(id))));
    const letters: DeadLetter[] = [];
    const gone: string[] = [];
    raws.forEach((raw, at) => {
      const letter = parse(raw);
      if (letter) letters.push(letter);
      else if (raw === null) gone.push(ids[at]!);
    });
    await Promise.all(gone.map((id) => this.redis.zrem(this.keys.deadLetterIndex(roleOfTaskId(id)!), id)));
    return letters;
  }
}

/** Newest first; ties (the same millisecond) by id, descending, as ZREVRANGEBYSCORE orders them. */
function newestFirst(a: DeadLetterPosition, b: DeadLetterPosition): number {
  return b.deadAtMs - a.deadAtMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Parses a stored record; Redis is a trust boundary, so one that is not a dead letter reads as absent. */
function parse(raw: string | null): DeadLetter | undefined {
  return parseStored(DeadLetterSchema, raw);
}

function toPositions(flat: string[]): DeadLetterPosition[] {
  const positions: DeadLetterPosition[] = [];
  for (let at = 0; at + 1 < flat.length; at += 2) positions.push({ id: flat[at]!, deadAtMs: Number(flat[at + 1]) });
  return positions;
}

/** Runs a MULTI and throws its first command error (ioredis reports them per command). */
async function exec(multi: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
