import { WorkerEntrySchema, type WorkerEntry } from '@taskyard/contracts';
import { parseStored } from './parse-json';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** What the registry logs with (a pino logger, or anything with its `warn`). */
export interface DepartureLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** A worker silent for this many heartbeats has left the registry. */
export const MISSED_HEARTBEATS = 3;

/**
 * The worker registry (the guide's connection events): every worker process writes its entry
 * when it starts and again at each heartbeat, and removes it when it stops. Each beat sets the
 * entry's deadline — MISSED_HEARTBEATS of the writer's own heartbeats ahead — so a process with
 * a slower heartbeat is not taken for dead by a reader with a faster one; an entry past its
 * deadline is a process that died (SIGKILL, a lost host): whichever reader comes next prunes it
 * (one script, so a beat in between keeps its entry) and logs its departure, once. Two keys in one hash slot: the entries (a hash) and their deadlines (a sorted set).
 */
export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly heartbeatMs: number,
    /** Where this registry logs each entry it pruned. */
    private readonly log?: DepartureLog,
  ) {}

  /** How long this process's entry lives without a heartbeat. */
  get expiryMs(): number {
    return MISSED_HEARTBEATS * this.heartbeatMs;
  }

  async beat(entry: WorkerEntry): Promise<void> {
    const deadline = Date.parse(entry.lastSeenAt) + this.expiryMs;
    await this.redis.multi().hset(this.keys.workers, entry.id, JSON.stringify(entry)).zadd(this.keys.workersSeen, deadline, entry.id).exec();
  }

  async leave(id: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.workers, id).zrem(this.keys.workersSeen, id).exec();
  }

  /** The live workers, oldest first, and the ids of those pruned now for their silence. */
  async live(now = Date.now()): Promise<{ workers: WorkerEntry[]; departed: string[] }> {
    const departed = (await withScripts(this.redis).taskyardPruneWorkers(this.keys.workers, this.keys.workersSeen, now)) as string[];
    for (const id of departed) this.log?.warn({ workerId: id }, 'a worker left the registry: silent past its deadline (three of its heartbeats)');
    const raw = Object.values(await this.redis.hgetall(this.keys.workers));
    const workers = raw
      .map((value) => parseStored(WorkerEntrySchema, value))
      .filter((entry): entry is WorkerEntry => entry !== undefined)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    return { workers, departed };
  }
}
