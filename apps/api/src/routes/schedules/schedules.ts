import {
  canSeeTenant,
  DispatchError,
  type Principal,
  type ScheduleRecord,
  type ScheduleView,
  type UpsertScheduleBody,
} from '@taskyard/contracts';
import type { Dispatcher } from '@taskyard/dispatch';
import { ScheduleStore, type RedisClient } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

export interface SchedulesDeps {
  dispatcher: Dispatcher;
  store: ScheduleStore;
  redis: RedisClient;
  maxPerTenant: number;
}

/**
 * Schedules (POST/GET/DELETE /v1/schedules): a role's task made on a timer, each run an
 * ordinary signed task from `schedule:<id>`. A schedule belongs to a tenant (a tenant key's own,
 * or the one an operator key names); each tenant has its own ids.
 */
export class Schedules {
  constructor(private readonly deps: SchedulesDeps) {}

  /** Creates or replaces a schedule (idempotent: the same body again changes nothing but `updatedAt`). */
  async upsert(body: UpsertScheduleBody, principal: Principal): Promise<{ created: boolean; view: ScheduleView }> {
    const { dispatcher, store, redis, maxPerTenant } = this.deps;
    const tenant = tenantFor(principal, body.tenant);
    if (body.cron !== undefined) {
      const problem = ScheduleStore.cronProblem(body.cron, body.tz);
      if (problem) throw new ApiError('VALIDATION_FAILED', `cron: ${problem}`, [{ field: 'cron', message: problem }]);
    }
    // The run as it will be made, checked now: the key's scope for the role, the role's acceptFrom
    // (for `schedule:<id>`), the payload and options.
    const origin = { kind: 'schedule' as const, scheduleId: body.id, owner: principal.keyId, tenant, scheduledFor: Date.now() };
    const checked = dispatcher.checkScheduled(principal, origin, { role: body.role, payload: body.payload, options: body.options });
    const internalId = ScheduleStore.internalId(tenant, body.id);
    return withRedis(redis, async () => {
      const existing = await store.read(internalId);
      if (!existing && (await store.countOf(tenant)) >= maxPerTenant) {
        throw new ApiError('SCHEDULE_LIMIT', `at most ${maxPerTenant} schedules per tenant (SCHEDULES_MAX_PER_TENANT)`, { limit: maxPerTenant });
      }
      const now = new Date().toISOString();
      const record: ScheduleRecord = {
        id: body.id,
        role: body.role,
        // As the role's schema parsed it (defaults filled in), as every run will carry it.
        payload: checked.message.payload,
        ...(body.every !== undefined ? { every: body.every } : {}),
        ...(body.cron !== undefined ? { cron: body.cron } : {}),
        ...(body.tz !== undefined ? { tz: body.tz } : {}),
        ...(body.startAt !== undefined ? { startAt: body.startAt } : {}),
        ...(body.endAt !== undefined ? { endAt: body.endAt } : {}),
        ...(body.options !== undefined ? { options: body.options } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
        owner: principal.keyId,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await store.upsert(internalId, record);
      const view = await store.view(internalId);
      // Deleted the moment after: it is gone.
      if (!view) throw notFound(body.id);
      return { created: !existing, view };
    });
  }

  async get(id: string, tenantQuery: string | undefined, principal: Principal): Promise<ScheduleView> {
    const view = await withRedis(this.deps.redis, () => this.deps.store.view(this.internalIdOf(id, tenantQuery, principal)));
    if (!view) throw notFound(id);
    return view;
  }

  /** A page of schedules: a tenant key's own; an operator key's every tenant's. */
  async list(limit: number, cursor: string | undefined, principal: Principal): Promise<{ items: ScheduleView[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const scope = principal.tenant === undefined ? ('all' as const) : { tenant: principal.tenant };
    const { items, last } = await withRedis(this.deps.redis, () => this.deps.store.list(scope, limit, after));
    return { items, nextCursor: last === undefined ? null : Buffer.from(last, 'utf8').toString('base64url') };
  }

  async remove(id: string, tenantQuery: string | undefined, principal: Principal): Promise<void> {
    const removed = await withRedis(this.deps.redis, () => this.deps.store.remove(this.internalIdOf(id, tenantQuery, principal)));
    if (!removed) throw notFound(id);
  }

  /** A tenant key means its own tenant's schedule (another `?tenant=` is not found); an operator key the tenant it names. */
  private internalIdOf(id: string, tenantQuery: string | undefined, principal: Principal): string {
    if (principal.tenant !== undefined && tenantQuery !== undefined && tenantQuery !== principal.tenant) throw notFound(id);
    const tenant = principal.tenant ?? tenantQuery;
    if (!canSeeTenant(principal, tenant)) throw notFound(id);
    return ScheduleStore.internalId(tenant, id);
  }
}

/** A tenant key schedules for its tenant (naming another is 403); an operator key for the one it names, or none. */
function tenantFor(principal: Principal, named: string | undefined): string | undefined {
  if (principal.tenant === undefined) return named;
  if (named !== undefined && named !== principal.tenant) {
    throw new DispatchError('FORBIDDEN', "this API key schedules for its own tenant only: leave tenant out or set it to the key's tenant", { field: 'tenant' });
  }
  return principal.tenant;
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (decoded.length === 0 || Buffer.from(decoded, 'utf8').toString('base64url') !== cursor) {
    throw new ApiError('VALIDATION_FAILED', 'cursor: not a cursor this API gave', [{ field: 'cursor', message: 'unknown cursor' }]);
  }
  return decoded;
}

function notFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no schedule "${id}"`);
}
