import { WorkerEntrySchema, type WorkerEntry } from '@taskyard/contracts';
import { parseStored } from './parse-json';
import type { RedisClient } from './redis-client';
import type { TaskyardKeys } from './taskyard-keys';

/** A worker silent for this many heartbeats has left the registry. */
export const MISSED_HEARTBEATS = 3;

/**
 * The worker registry (the guide's connection events): every worker process writes its entry
 * when it starts and again at each heartbeat, and removes it when it stops. An entry not
 * refreshed for MISSED_HEARTBEATS heartbeats is a process that died (SIGKILL, a lost host): the
 * next reader prunes it and reports it as departed. Two keys in one hash slot: the entries (a
 * hash) and their last heartbeat (a sorted set), changed together in one MULTI.
 */
export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly heartbeatMs: number,
  ) {}

  /** How long an entry lives without a heartbeat. */
  get expiryMs(): number {
    return MISSED_HEARTBEATS * this.heartbeatMs;
  }

  async beat(entry: WorkerEntry): Promise<void> {
    await this.redis.multi().hset(this.keys.workers, entry.id, JSON.stringify(entry)).zadd(this.keys.workersSeen, Date.parse(entry.lastSeenAt), entry.id).exec();
  }

  async leave(id: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.workers, id).zrem(this.keys.workersSeen, id).exec();
  }

  /** The live workers, oldest first, and the ids of those pruned now for their silence. */
  async live(now = Date.now()): Promise<{ workers: WorkerEntry[]; departed: string[] }> {
    const cutoff = now - this.expiryMs;
    const departed = await this.redis.zrangebyscore(this.keys.workersSeen, '-inf', `(${cutoff}`);
    if (departed.length > 0) {
      await this.redis.multi().hdel(this.keys.workers, ...departed).zrem(this.keys.workersSeen, ...departed).exec();
    }
    const raw = Object.values(await this.redis.hgetall(this.keys.workers));
    const workers = raw
      .map((value) => parseStored(WorkerEntrySchema, value))
      .filter((entry): entry is WorkerEntry => entry !== undefined && Date.parse(entry.lastSeenAt) >= cutoff)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    return { workers, departed };
  }
}
