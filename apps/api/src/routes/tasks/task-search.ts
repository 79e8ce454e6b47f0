import { decodeTaskCursor, encodeTaskCursor, labelFiltersOf, type Principal, type TaskPage, type TaskSearchQuery } from '@taskyard/contracts';
import type { RoleRegistry } from '@taskyard/roles';
import type { RedisClient, TaskIndex } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import { requireRole } from '../require-role';

/**
 * GET /v1/tasks: a query and its caller made into one search of the task index. A tenant key
 * searches its own tenant's tasks only (naming another finds nothing, as an unknown id would);
 * an operator key every tenant's, or the one it names.
 */
export class TaskSearcher {
  constructor(private readonly deps: { index: TaskIndex; registry: RoleRegistry; redis: RedisClient }) {}

  async search(query: TaskSearchQuery, principal: Principal): Promise<TaskPage> {
    const { index, registry, redis } = this.deps;
    if (query.role !== undefined) requireRole(registry, query.role);
    const after = query.cursor === undefined ? undefined : decodeTaskCursor(query.cursor);
    if (query.cursor !== undefined && !after) {
      throw new ApiError('VALIDATION_FAILED', 'the cursor is not one this API gave out', [
        { field: 'querystring.cursor', message: 'pass the nextCursor of a previous page, unchanged' },
      ]);
    }
    const createdAfterMs = query.createdAfter === undefined ? undefined : Date.parse(query.createdAfter);
    const createdBeforeMs = query.createdBefore === undefined ? undefined : Date.parse(query.createdBefore);
    if (createdAfterMs !== undefined && createdBeforeMs !== undefined && createdAfterMs >= createdBeforeMs) {
      throw new ApiError('VALIDATION_FAILED', 'createdAfter must be before createdBefore', [
        { field: 'querystring.createdAfter', message: 'the range [createdAfter, createdBefore) is empty' },
      ]);
    }
    const labels = labelFiltersOf(query.label);
    const foreignTenant = principal.tenant !== undefined && query.tenant !== undefined && query.tenant !== principal.tenant;
    if (!labels || foreignTenant) return { items: [], nextCursor: null };
    const page = await withRedis(redis, () =>
      index.search({
        roles: query.role === undefined ? registry.names() : [query.role],
        state: query.state,
        correlationId: query.correlationId,
        labels,
        tenant: principal.tenant ?? query.tenant,
        createdAfterMs,
        createdBeforeMs,
        limit: query.limit,
        after,
      }),
    );
    return { items: page.items, nextCursor: page.next ? encodeTaskCursor(page.next) : null };
  }
}
