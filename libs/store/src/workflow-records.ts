import { WorkflowRecordSchema, type WorkflowRecord } from '@taskyard/contracts';
import { parseStored } from './parse-json';
import type { RedisClient } from './redis-client';
import type { TaskyardKeys } from './taskyard-keys';

/**
 * What Taskyard keeps of a workflow beside its tasks: its name, owner, tenant and the tree of its
 * tasks' ids, one JSON string per workflow with a TTL. The tasks themselves are BullMQ's jobs;
 * GET /v1/workflows/:id reads this record, then each node's task.
 */
export class WorkflowRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
  ) {}

  async write(record: WorkflowRecord, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.workflow(record.id), JSON.stringify(record), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  /** The record, or undefined for an unknown, expired or unreadable one. */
  async read(id: string): Promise<WorkflowRecord | undefined> {
    return parseStored(WorkflowRecordSchema, await this.redis.get(this.keys.workflow(id)));
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.keys.workflow(id));
  }
}
