import type { Fair } from '@taskyard/contracts';
import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** Whether a task may start now by its tenant's limits, and if not, why and when to look again. */
export type TenantSlot =
  | { granted: true; release: () => Promise<void> }
  | { granted: false; reason: 'concurrency' | 'rate'; /** 0: when one of the tenant's running tasks ends (not known). */ retryMs: number };

const GRANTED_WITHOUT_LEASE: TenantSlot = Object.freeze({ granted: true, release: () => Promise.resolve() });

/**
 * A fair role's limits per tenant (tenantConcurrency, tenantRate), shared by every replica: a
 * task takes a slot before its handler runs and gives it back when its attempt ends. A slot is
 * a lease that ends by itself (`leaseMs`: longer than any attempt can run), so a worker killed
 * mid-task does not keep its tenant's slot taken; the rate is a counter per window. One script
 * call to take a slot, one ZREM to give it back; nothing for a role without limits.
 */
/** The job hash field a task's deferrals are counted in. */
const DEFERRALS_FIELD = 'taskyardDeferrals';

export class TenantSlots {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly role: string,
    private readonly limits: Fair,
    /** How long a slot stays taken when its task never gives it back. */
    private readonly leaseMs: number,
  ) {}

  /** True when the role limits its tenants at all (else take() always grants, without Redis). */
  get limited(): boolean {
    return this.limits.tenantConcurrency !== undefined || this.limits.tenantRate !== undefined;
  }

  /**
   * Counts a deferral of task `taskId` on its job (a field of BullMQ's job hash, gone with the
   * job): a deferral spends no attempt and is no snooze of its handler's (see deferralsOf).
   */
  async recordDeferral(taskId: string): Promise<void> {
    await this.redis.hincrby(this.keys.job(taskId), DEFERRALS_FIELD, 1);
  }

  /** How often task `taskId` was deferred so far. */
  async deferralsOf(taskId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.job(taskId), DEFERRALS_FIELD)) ?? 0);
  }

  /** Takes a slot for attempt `token` of task `taskId` of `tenant` (undefined: the tasks without a tenant). */
  async take(taskId: string, token: string, tenant: string | undefined): Promise<TenantSlot> {
    if (!this.limited) return GRANTED_WITHOUT_LEASE;
    const leases = this.keys.fairLeases(this.role, tenant);
    const member = `${taskId}:${token}`;
    const { tenantConcurrency = 0, tenantRate } = this.limits;
    const [granted, retryMs, reason] = (await withScripts(this.redis).taskyardClaimTenantSlot(
      leases,
      this.keys.fairRate(this.role, tenant),
      Date.now(),
      member,
      tenantConcurrency,
      this.leaseMs,
      tenantRate?.max ?? 0,
      tenantRate?.durationMs ?? 0,
    )) as [number, number?, string?];
    if (granted !== 1) return { granted: false, reason: reason === 'rate' ? 'rate' : 'concurrency', retryMs: Number(retryMs ?? 0) };
    if (tenantConcurrency === 0) return GRANTED_WITHOUT_LEASE;
    return { granted: true, release: async () => void (await this.redis.zrem(leases, member)) };
  }
}
