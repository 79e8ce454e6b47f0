import { parseMessageRecord, type CancelledRecord, type MessageRecord } from '@taskyard/contracts';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** One ledger record to write: a message's "done" record, with its TTL. */
export interface RecordWrite {
  taskId: string;
  /** The record, as JSON. */
  value: string;
  ttlMs: number;
}

/**
 * The per-message records of the effects ledger (TaskyardKeys.message): "done" with the
 * handler's result, or "cancelled". Read before a delivery that may repeat a run, written after
 * a handler completes, and by DELETE /v1/tasks/:id.
 */
export class MessageRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
  ) {}

  /** The record of task `taskId` (one GET), or undefined. */
  async read(taskId: string): Promise<MessageRecord | undefined> {
    return parseMessageRecord(await this.redis.get(this.keys.message(taskId)));
  }

  /** The records of several tasks of one role (one MGET: their keys share the role's slot). */
  async readMany(taskIds: readonly string[]): Promise<(MessageRecord | undefined)[]> {
    if (taskIds.length === 0) return [];
    const raws = await this.redis.mget(...taskIds.map((taskId) => this.keys.message(taskId)));
    return raws.map((raw) => parseMessageRecord(raw));
  }

  /**
   * Records a cancellation unless the message already has a record (SET NX): a "done" record is
   * never overwritten, and a second cancellation keeps the first. Returns the record that holds
   * afterwards: `record` itself when it was written, else the one found (undefined if that one
   * vanished or is unreadable).
   */
  async recordCancelled(taskId: string, record: CancelledRecord, ttlMs: number): Promise<MessageRecord | undefined> {
    const written = await this.redis.set(this.keys.message(taskId), JSON.stringify(record), 'PX', ttlMs, 'NX');
    return written === 'OK' ? record : this.read(taskId);
  }

  /**
   * Writes records of one role's tasks: a lone one as a plain SET, several as one script call
   * (their keys share the role's hash slot, so this holds on a cluster too).
   */
  writeMany(writes: readonly RecordWrite[]): Promise<unknown> {
    if (writes.length === 1) {
      const [write] = writes as [RecordWrite];
      return this.redis.set(this.keys.message(write.taskId), write.value, 'PX', write.ttlMs);
    }
    const keysThenArgs: (string | number)[] = [];
    for (const write of writes) keysThenArgs.push(this.keys.message(write.taskId));
    for (const write of writes) keysThenArgs.push(write.value, write.ttlMs);
    return withScripts(this.redis).taskyardSetRecords(writes.length, ...keysThenArgs);
  }
}
