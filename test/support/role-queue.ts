import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { TaskyardKeys } from '@taskyard/store';

/**
 * A role's BullMQ queue where Taskyard keeps it (TaskyardKeys: the prefix `<prefix>{<role>}`), for
 * tests that add or inspect jobs straight in Redis, behind the API's back.
 */
export function roleQueue(connection: Redis | Cluster, prefix: string, role: string): Queue {
  const keys = new TaskyardKeys(prefix);
  return new Queue(keys.queueName(role), { connection, prefix: keys.queuePrefix(role) });
}
