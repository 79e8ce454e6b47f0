import {
  BroadcastAckSchema,
  BroadcastRecordSchema,
  decodeListCursor,
  encodeListCursor,
  LogLevelSchema,
  type BroadcastAck,
  type BroadcastRecord,
  type BroadcastView,
  type LogLevel,
  type LogLevelState,
} from '@taskyard/contracts';
import { parseStored } from './parse-json';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** A place in the list of broadcasts: the last one of a page (its creation time and id). */
export interface BroadcastPosition {
  createdAtMs: number;
  id: string;
}

export interface BroadcastPage {
  items: BroadcastView[];
  /** The last item's position, when there may be more. */
  last: BroadcastPosition | undefined;
}

/** The field of the log-level hash that holds the deployment's level (no role is named `*`). */
const ALL_ROLES = '*';

/**
 * Broadcasts in Redis (POST /v1/broadcasts), all in one hash slot (`<prefix>{~broadcasts}`), so
 * a write is one MULTI and works on a cluster: each broadcast is a string key (its signed record)
 * and a hash of acknowledgements (one field per worker), both expiring BROADCAST_RETENTION after
 * it was made, plus an index (a sorted set by creation time) pruned to the retention on every
 * write, for listing and for the catch-up of a worker whose subscriber was away. Beside them,
 * the log levels `set-log-level` stored, which every starting worker reads.
 */
export class BroadcastStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly retentionMs: number,
  ) {}

  /** Stores a new broadcast, then announces it on the broadcast channel (its id). */
  async create(record: BroadcastRecord, now = Date.now()): Promise<void> {
    const index = this.keys.broadcastIndex;
    const results = await this.redis
      .multi()
      .set(this.keys.broadcast(record.id), JSON.stringify(record), 'PX', this.retentionMs)
      .zadd(index, Date.parse(record.createdAt), record.id)
      .zremrangebyscore(index, '-inf', `(${now - this.retentionMs}`)
      // An idle deployment's index goes away with its last broadcast.
      .pexpire(index, this.retentionMs)
      .exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
    await this.redis.publish(this.keys.broadcastChannel, record.id);
  }

  async read(id: string): Promise<BroadcastRecord | undefined> {
    return parseStored(BroadcastRecordSchema, await this.redis.get(this.keys.broadcast(id)));
  }

  /** A broadcast with its acknowledgements (oldest first), or undefined when unknown or past its retention. */
  async view(id: string): Promise<BroadcastView | undefined> {
    const [raw, acks] = await Promise.all([this.redis.get(this.keys.broadcast(id)), this.redis.hgetall(this.keys.broadcastAcks(id))]);
    const record = parseStored(BroadcastRecordSchema, raw);
    if (!record) return undefined;
    const parsed = Object.values(acks)
      .map((value) => parseStored(BroadcastAckSchema, value))
      .filter((ack): ack is BroadcastAck => ack !== undefined)
      .sort((a, b) => a.at.localeCompare(b.at) || a.workerId.localeCompare(b.workerId));
    const { signature: _signature, ...content } = record;
    return { ...content, payload: content.payload ?? null, acks: parsed };
  }

  /** A page of broadcasts, newest first, after `after` (a previous page's last). */
  async list(limit: number, after?: BroadcastPosition): Promise<BroadcastPage> {
    const index = this.keys.broadcastIndex;
    await this.redis.zremrangebyscore(index, '-inf', `(${Date.now() - this.retentionMs}`);
    // One more than asked: whether there is a next page.
    const positions = after ? await this.positionsAfter(after, limit + 1) : await this.newest('+inf', limit + 1);
    const page = positions.slice(0, limit);
    const views = await Promise.all(page.map((position) => this.view(position.id)));
    const items = views.filter((view): view is BroadcastView => view !== undefined);
    return { items, last: positions.length > limit ? page.at(-1) : undefined };
  }

  /**
   * Records `ack` of broadcast `id` (one per worker: acknowledging again replaces it); false
   * when the broadcast is gone.
   */
  async ack(id: string, ack: BroadcastAck): Promise<boolean> {
    const recorded = await withScripts(this.redis).taskyardAckBroadcast(this.keys.broadcast(id), this.keys.broadcastAcks(id), ack.workerId, JSON.stringify(ack));
    return recorded === 1;
  }

  /** The broadcasts made since `sinceMs` (oldest first, at most `limit`: the oldest of them). */
  async since(sinceMs: number, limit: number): Promise<BroadcastPosition[]> {
    return toPositions(await this.redis.zrangebyscore(this.keys.broadcastIndex, sinceMs, '+inf', 'WITHSCORES', 'LIMIT', 0, limit));
  }

  /** Stores a log level: of one role's lines, or of the deployment (which replaces every role's). */
  async setLogLevel(level: LogLevel, role?: string): Promise<void> {
    if (role !== undefined) {
      await this.redis.hset(this.keys.logLevels, role, level);
      return;
    }
    const results = await this.redis.multi().del(this.keys.logLevels).hset(this.keys.logLevels, ALL_ROLES, level).exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  /** The stored log levels (fields that are not a level are ignored). */
  async logLevels(): Promise<LogLevelState> {
    const fields = await this.redis.hgetall(this.keys.logLevels);
    let all: LogLevel | undefined;
    const roles: Record<string, LogLevel> = {};
    for (const [field, value] of Object.entries(fields)) {
      const level = LogLevelSchema.safeParse(value);
      if (!level.success) continue;
      if (field === ALL_ROLES) all = level.data;
      else roles[field] = level.data;
    }
    return { all, roles };
  }

  private async newest(max: string, count: number): Promise<BroadcastPosition[]> {
    return toPositions(await this.redis.zrevrangebyscore(this.keys.broadcastIndex, max, '-inf', 'WITHSCORES', 'LIMIT', 0, count));
  }

  /** The positions after `after`, newest first; ties of one millisecond in ZREVRANGEBYSCORE's order (by id, descending). */
  private async positionsAfter(after: BroadcastPosition, count: number): Promise<BroadcastPosition[]> {
    const [ties, older] = await Promise.all([
      this.redis.zrangebyscore(this.keys.broadcastIndex, after.createdAtMs, after.createdAtMs),
      this.newest(`(${after.createdAtMs}`, count),
    ]);
    const sameTime = ties
      .filter((id) => id < after.id)
      .sort()
      .reverse()
      .map((id) => ({ createdAtMs: after.createdAtMs, id }));
    return [...sameTime, ...older].slice(0, count);
  }
}

/** A list cursor (the one format of list-cursor.ts) of a broadcast's position. */
export function encodeBroadcastCursor(position: BroadcastPosition): string {
  return encodeListCursor({ ms: position.createdAtMs, id: position.id });
}

/** The position in a cursor, or undefined when it is not one this API made. */
export function decodeBroadcastCursor(cursor: string): BroadcastPosition | undefined {
  const place = decodeListCursor(cursor);
  return place && { createdAtMs: place.ms, id: place.id };
}

function toPositions(withScores: readonly string[]): BroadcastPosition[] {
  const positions: BroadcastPosition[] = [];
  for (let at = 0; at + 1 < withScores.length; at += 2) positions.push({ id: withScores[at]!, createdAtMs: Number(withScores[at + 1]) });
  return positions;
}
