import type { ChainableCommander } from 'ioredis';
import { isNewerPosition, roleOfTaskId, type TaskPosition, type TaskState, type TaskSummary } from '@taskyard/contracts';
import { bullmqStatesToSearch } from './bullmq-states';
import type { RedisClient } from './redis-client';
import { isCluster } from './redis-connection';
import type { QueuedJob, RoleQueues } from './role-queues';
import { withScripts } from './scripts';
import type { TaskIndexFacet, TaskyardKeys } from './taskyard-keys';
import { toTaskSummary, type SearchRow } from './task-summary';

/** What bounds the indexes: how long an entry may be of use, per role, and how many one index keeps. */
export interface TaskIndexLimits {
  /** The longest a task of `role` can live (its delivery window plus retention): an entry's use. */
  windowMsOf(role: string): number;
  maxEntries: number;
}

/** One search: every filter given must match. */
export interface TaskSearch {
  roles: readonly string[];
  state?: TaskState | undefined;
  correlationId?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  tenant?: string | undefined;
  /** Created at or after, ms. */
  createdAfterMs?: number | undefined;
  /** Created before, ms. */
  createdBeforeMs?: number | undefined;
  limit: number;
  /** Continue after this place (a previous page's end). */
  after?: TaskPosition | undefined;
}

export interface TaskSearchPage {
  items: TaskSummary[];
  /** Where the next page starts; undefined when there is none. */
  next: TaskPosition | undefined;
}

/** Entries one page examines at most, over all roles (each role gets its share, at least MIN_ROLE_BUDGET). */
export const SEARCH_BUDGET = 5000;
const MIN_ROLE_BUDGET = 500;
/**
 * How young an entry the sweep leaves alone even when its job is not there (yet): a submitted
 * task is indexed a moment before its job is added.
 */
export const FRESH_ENTRY_MS = 5000;
/** How often each worker process sweeps its roles' indexes (IndexSweeper, with ±25 % jitter). */
export const INDEX_SWEEP_MS = 5000;
/** How long after its last task a role's index holds none that retention removed: the fresh window and a sweep. */
export const INDEX_SETTLE_MS = FRESH_ENTRY_MS + Math.ceil(INDEX_SWEEP_MS * 1.25);
/** Entries one sweep examines (from the oldest). */
export const SWEEP_EXAMINE = 1000;
/** Entries one script call examines at most: a call holds Redis, so it stays short. */
const STEP_BUDGET = 1000;

/**
 * The search indexes of tasks (GET /v1/tasks): for each role a sorted set of its task ids by
 * creation time, and beside it one per tenant, correlation id and label of its tasks (see
 * TaskyardKeys.taskIndex), written in the transaction that adds the tasks (index-task.lua). A
 * search walks the narrowest index its filters allow and checks the rest per task, reading
 * its state from BullMQ's own state sets (search-tasks.lua): nothing is written as a task
 * changes state, and a task keeps its place in the order while it does, so a cursor is stable.
 *
 * A correlation id is indexed only when it is not the task's own id (the default of a task
 * submitted without one): that task is found by id (correlationRoot), the others through the index.
 */
export class TaskIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    private readonly queues: RoleQueues,
    private readonly limits: TaskIndexLimits,
  ) {}

  /**
   * Queues the indexing of `job` on `transaction` (or a pipeline): right after the command that
   * adds it ('after-add': a deduplicated task, which BullMQ adds no job for, is not indexed), or
   * after it was added.
   */
  queueOn(transaction: ChainableCommander, job: QueuedJob, when: 'after-add' | 'added' = 'added'): void {
    (transaction as unknown as Record<string, (...args: (string | number)[]) => unknown>).taskyardIndexTask!(...this.indexArgs(job, when === 'after-add' && !!job.options.deduplication));
  }

  /**
   * Sends the indexing of `job` on `client` ahead of its add (the one-task submit path). Its
   * entries exist a moment before its job; if the add then fails or is deduplicated, they are
   * dangling until the sweep (which leaves entries younger than FRESH_ENTRY_MS alone)
   * drops them.
   */
  indexAhead(client: RedisClient, job: QueuedJob): Promise<unknown> {
    return withScripts(client).taskyardIndexTask(...this.indexArgs(job, false));
  }

  private indexArgs({ message }: QueuedJob, checkJob: boolean): (string | number)[] {
    const indexes = this.indexesOf(message);
    return [
      indexes.length + 2,
      this.keys.job(message.id),
      this.keys.taskIndexFacets(message.role),
      ...indexes,
      message.id,
      Date.parse(message.createdAt),
      this.limits.windowMsOf(message.role),
      this.limits.maxEntries,
      checkJob ? '1' : '0',
    ];
  }

  /**
   * Indexes jobs already added (a workflow's, a fan-out's): one pipeline per hash slot family.
   * The jobs are in whatever happens here: a failure only leaves them out of search.
   */
  async indexAdded(jobs: readonly QueuedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const client = withScripts(this.redis);
    const groups = isCluster(this.redis) ? groupBy(jobs, (job) => this.keys.queuePrefix(job.message.role)) : [jobs];
    await Promise.all(
      groups.map(async (group) => {
        const pipeline = client.pipeline();
        for (const job of group) this.queueOn(pipeline, job);
        const results = await pipeline.exec();
        for (const [err] of results ?? []) if (err) throw err;
      }),
    );
  }

  /**
   * Takes the tasks of `role` whose jobs retention removed out of every index (examining the
   * oldest `examine` entries of the role's): the worker processes do it every few seconds, so
   * the indexes shrink with the tasks. Resolves with how many were taken out.
   */
  async sweep(role: string, examine = SWEEP_EXAMINE): Promise<number> {
    const queue = this.queues.get(role);
    return (await withScripts(this.redis).taskyardSweepTaskIndex(
      this.keys.taskIndex(role),
      this.keys.taskIndexFacets(role),
      this.keys.taskIndexSweep(role),
      queue.toKey(''),
      this.keys.messagePrefix(role),
      examine,
      Date.now() - FRESH_ENTRY_MS,
    )) as number;
  }

  /** A page of tasks of `search.roles` matching `search`, newest first. */
  async search(search: TaskSearch): Promise<TaskSearchPage> {
    const budget = Math.max(MIN_ROLE_BUDGET, Math.floor(SEARCH_BUDGET / Math.max(1, search.roles.length)));
    const [root, ...walks] = await Promise.all([this.correlationRoot(search), ...search.roles.map((role) => this.walk(role, search, budget))]);
    // Each role was read up to its end place; the union is complete down to the newest of them.
    const ends = (walks as Walk[]).map((walk) => walk.end).filter((end): end is TaskPosition => end !== undefined);
    const end = ends.reduce<TaskPosition | undefined>((newest, at) => (!newest || isNewerPosition(at, newest) ? at : newest), undefined);
    const complete = [...(walks as Walk[]).flatMap((walk) => walk.found), ...(root ? [root as Found] : [])]
      .filter((found) => !end || !isNewerPosition(end, found.at))
      .sort((a, b) => (isNewerPosition(a.at, b.at) ? -1 : 1));
    if (complete.length > search.limit) {
      const page = complete.slice(0, search.limit);
      return { items: page.map((found) => found.summary), next: page.at(-1)!.at };
    }
    return { items: complete.map((found) => found.summary), next: end };
  }

  /** Walks one role's narrowest index from the search's start (see steps). */
  private walk(role: string, search: TaskSearch, budget: number): Promise<Walk> {
    return this.steps(role, this.drivingIndex(role, search), search, this.start(search), budget);
  }

  /**
   * Walks `index` of `role` from `start`, a script call at a time, until it found `limit`
   * tasks, spent `budget` entries or reached the end (then `end` is undefined).
   */
  private async steps(
    role: string,
    index: string,
    search: TaskSearch,
    start: TaskPosition,
    budget: number,
  ): Promise<Walk> {
    const queue = this.queues.get(role);
    const { completed, failed, delayed, prioritized } = queue.keys;
    const keys = [index, completed!, failed!, delayed!, prioritized!, queue.keys['waiting-children']!];
    const states = search.state === undefined ? '' : bullmqStatesToSearch(search.state).join(' ');
    const found: Found[] = [];
    let at = start;
    let left = budget;
    const scripts = withScripts(this.redis);
    for (;;) {
      const [rows, endMs, endAfter, exhausted, examined] = (await scripts.taskyardSearchTasks(
        ...keys,
        queue.toKey(''),
        this.keys.messagePrefix(role),
        String(at.ms),
        at.after,
        String(search.createdAfterMs ?? -1),
        Math.min(left, STEP_BUDGET),
        search.limit - found.length,
        states,
        search.state === 'cancelled' ? '1' : '0',
        search.tenant ?? '',
        search.correlationId ?? '',
        search.labels && Object.keys(search.labels).length > 0 ? JSON.stringify(search.labels) : '',
      )) as [SearchRow[], string, string, number, number];
      for (const row of rows) {
        const summary = toTaskSummary(role, row);
        if (summary && (search.state === undefined || summary.state === search.state)) found.push({ summary, at: { ms: Number(row[1]), after: row[0] } });
      }
      if (exhausted === 1) return { found, end: undefined };
      at = { ms: Number(endMs), after: endAfter };
      left -= examined;
      if (found.length >= search.limit || left <= 0) return { found, end: at };
    }
  }

  /** Where a search starts: after its cursor, else before its createdBefore, else at the newest task. */
  private start(search: TaskSearch): TaskPosition {
    const before: TaskPosition = { ms: search.createdBeforeMs ?? Number.MAX_SAFE_INTEGER, after: '' };
    return search.after && isNewerPosition(before, search.after) ? search.after : before;
  }

  /** The narrowest index the filters allow: a correlation id's, a label's, the tenant's, else the role's. */
  private drivingIndex(role: string, search: TaskSearch): string {
    const [label] = Object.entries(search.labels ?? {});
    if (search.correlationId !== undefined) return this.keys.taskIndex(role, { kind: 'correlation', value: search.correlationId });
    if (label) return this.keys.taskIndex(role, { kind: 'label', name: label[0], value: label[1] });
    if (search.tenant !== undefined) return this.keys.taskIndex(role, { kind: 'tenant', value: search.tenant });
    return this.keys.taskIndex(role);
  }

  /**
   * The task a correlation id names, when it is a task id of a searched role: the first task of
   * a piece of work submitted without a correlation id has its own id as one, and is indexed by
   * role only. Found when it passes the filters and lies between the search's start and its
   * createdAfter: its creation time from the role's index, then one step of the walk over
   * exactly that entry.
   */
  private async correlationRoot(search: TaskSearch): Promise<Found | undefined> {
    const id = search.correlationId;
    const role = id === undefined ? undefined : roleOfTaskId(id);
    if (id === undefined || role === undefined || !search.roles.includes(role)) return undefined;
    const score = await this.redis.zscore(this.keys.taskIndex(role), id);
    if (score === null) return undefined;
    const at: TaskPosition = { ms: Number(score), after: id };
    if (!isNewerPosition(this.start(search), at) || (search.createdAfterMs !== undefined && at.ms < search.createdAfterMs)) return undefined;
    // (ms, id + "\0") is the place just before the entry: the step examines it and nothing else.
    const { found } = await this.steps(role, this.keys.taskIndex(role), { ...search, limit: 1, after: undefined }, { ms: at.ms, after: `${id}\0` }, 1);
    return found[0]?.summary.id === id ? found[0] : undefined;
  }

  /** The indexes a new task goes in. */
  private indexesOf(message: QueuedJob['message']): string[] {
    const { role, id, metadata } = message;
    const facets: TaskIndexFacet[] = [];
    if (metadata.tenant !== undefined) facets.push({ kind: 'tenant', value: metadata.tenant });
    if (metadata.correlationId !== id) facets.push({ kind: 'correlation', value: metadata.correlationId });
    for (const [name, value] of Object.entries(metadata.labels)) facets.push({ kind: 'label', name, value });
    return [this.keys.taskIndex(role), ...facets.map((facet) => this.keys.taskIndex(role, facet))];
  }
}

interface Found {
  summary: TaskSummary;
  at: TaskPosition;
}

interface Walk {
  found: Found[];
  end: TaskPosition | undefined;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(item);
  }
  return [...groups.values()];
}
