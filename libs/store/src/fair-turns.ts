import { PRIORITY_LIMIT } from 'bullmq';
import type { RedisClient } from './redis-client';
import type { RoleQueues } from './role-queues';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** How long a fair role's turns outlive its last reservation: past it an idle role starts afresh. */
export const FAIR_TURNS_TTL_MS = 7 * 86_400_000;

/**
 * A fair role's turns (start-time fair queuing on BullMQ's priorities, see reserve-fair-turns.lua):
 * the BullMQ priority of each new task, so that the tenants with waiting tasks are served in
 * turn. One script call per role per enqueue, before the tasks are added; the priorities stay
 * within BullMQ's range (1..PRIORITY_LIMIT) however many tasks pass.
 */
export class FairTurns {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly queues: RoleQueues,
  ) {}

  /** The priorities of new tasks of fair role `role`, one per tenant given (undefined: no tenant), in order. */
  async reserve(role: string, tenants: readonly (string | undefined)[]): Promise<number[]> {
    if (tenants.length === 0) return [];
    const members = tenants.map((tenant) => JSON.stringify(tenant ?? null));
    const priorities = (await withScripts(this.redis).taskyardReserveFairTurns(
      this.keys.fairTurns(role),
      this.queues.prioritizedKey(role),
      PRIORITY_LIMIT,
      FAIR_TURNS_TTL_MS,
      ...members,
    )) as number[];
    return priorities.map(Number);
  }
}
