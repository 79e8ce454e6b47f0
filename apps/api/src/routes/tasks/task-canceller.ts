import { canSeeTenant, isTerminal, type CancellationRequested, type CancelledRecord, type Principal, type TaskView } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { RoleRegistry } from '@taskyard/roles';
import { cancelledView, ledgerTimings, type RedisClient, type TaskStore, type TaskyardKeys } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

export interface TaskCancellerDeps {
  store: TaskStore;
  registry: RoleRegistry;
  redis: RedisClient;
  keys: TaskyardKeys;
  config: TaskyardConfig;
}

/** What DELETE /v1/tasks/:id answers: 200 with a cancelled task, 202 while an active one is being aborted. */
export type Cancellation = { status: 200; view: TaskView } | { status: 202; view: CancellationRequested };

/**
 * Cancels tasks (DELETE /v1/tasks/:id). The cancellation is recorded in the message's ledger
 * record first (SET NX: a completed message's record is never overwritten): a retry, a
 * redelivery or a job a circuit handed back reads it and fails as cancelled without running the
 * handler; a first delivery does not read the ledger, so the job is removed or its attempt aborted:
 * - queued or delayed: the job is removed (200, state `cancelled`). BullMQ refuses to remove a
 *   locked job; that one just became active and is treated as such.
 * - active: the task id is published on the cancel channel; the worker running it aborts the
 *   attempt (its AbortSignal fires with CancelledError, and the attempt ends even if the handler
 *   ignores it) and the task ends `cancelled`, neither retried nor dead-lettered (202). A handler
 *   that finishes before the abort arrives completes normally.
 * - a workflow's or a fan-out's child (its job has a parent) that is queued or delayed: the job
 *   stays (202): removing it would set its parent free as if it had completed; the worker that
 *   takes it (a delayed one is made available now) finds the record and ends it cancelled,
 *   which its parent's onChildFailure then handles like any failure.
 * - already cancelled: 200 again (for a task still being aborted, 202 and the abort is sent again).
 *   The 202 carries the view read after the abort was sent: `active`, or `cancelled` if it was quick.
 * - completed or failed: 409 TASK_FINISHED. Unknown: 404.
 */
/** BullMQ states of a job that has not started (its task can be removed rather than aborted). */
const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized']);

export class TaskCanceller {
  constructor(private readonly deps: TaskCancellerDeps) {}

  /** Builds the task's view at most twice (before, and after an abort was sent), each one round trip. */
  async cancel(id: string, principal: Principal): Promise<Cancellation> {
    const { store, redis, keys } = this.deps;
    const found = await withRedis(redis, () => store.inspect(id));
    // Another tenant's task answers exactly like an unknown one.
    if (!found || !canSeeTenant(principal, found.view.tenant)) throw taskNotFound(id);
    const { view, jobState, hasParent } = found;
    if (view.state === 'cancelled') {
      // Its job may still wait (a removal that met a lock, a job a circuit handed back): remove it now.
      if (WAITING_STATES.has(jobState)) {
        if (hasParent) return this.leaveToWorker(id, jobState, view);
        await withRedis(redis, () => store.remove(id));
      }
      return { status: 200, view };
    }
    if (view.state === 'completed' || view.state === 'failed') throw finished(view);

    const record = this.recordOf(view);
    const held = await withRedis(redis, () => store.records.recordCancelled(id, record, this.ttlMs(view)));
    // It completed between the read and the record: too late to cancel.
    if (held?.status === 'done') throw finished({ ...view, state: 'completed' });

    if (view.state !== 'active' && hasParent) {
      // One waiting for children of its own takes them with it: they are cancelled too.
      if (jobState === 'waiting-children') await this.cancelAll(await withRedis(redis, () => store.queues.pendingChildrenOf(id)));
      return this.leaveToWorker(id, jobState, await this.read(id));
    }
    if (view.state !== 'active' && (await withRedis(redis, () => store.remove(id)))) {
      // Removed: what GET shows from now on is the record's view.
      return { status: 200, view: cancelledView(id, held?.status === 'cancelled' ? held : record) };
    }
    await withRedis(redis, () => redis.publish(keys.cancelChannel, id));
    // 202 whatever the abort's progress: the view may already read `cancelled`.
    const after = await this.read(id);
    if (after.state === 'completed' || after.state === 'failed') throw finished(after);
    return { status: 202, view: { ...after, cancellationRequested: true } };
  }

  /**
   * Cancels a workflow's unfinished tasks. Every cancellation is recorded before any job is
   * removed: removing a child can set its parent free to run, and a workflow's task reads its
   * record even on a first delivery. Then each job is removed alone (its finished children keep
   * their results) or, running, told to abort. Finished tasks are left as they are. The caller
   * checked the tasks' tenant.
   */
  async cancelAll(ids: readonly string[]): Promise<void> {
    const { store, redis, keys } = this.deps;
    const all = await withRedis(redis, () => this.withDescendants(ids));
    const found = await withRedis(redis, () => Promise.all(all.map((id) => store.inspect(id))));
    const open = found.filter((task): task is NonNullable<typeof task> => !!task && !isTerminal(task.view.state));
    const held = await withRedis(redis, () => Promise.all(open.map(({ view }) => store.records.recordCancelled(view.id, this.recordOf(view), this.ttlMs(view)))));
    for (const [at, { view }] of open.entries()) {
      // It completed before its record: nothing to stop.
      if (held[at]?.status === 'done') continue;
      if (view.state !== 'active' && (await withRedis(redis, () => store.remove(view.id, { children: false })))) continue;
      // Running, or it started since it was read: told to abort (harmless where nothing runs it).
      await withRedis(redis, () => redis.publish(keys.cancelChannel, view.id));
    }
  }

  /**
   * A cancelled child's job is left for a worker, which ends it cancelled (its parent's policy
   * then applies); a delayed one is made available now, so that happens at once (202).
   */
  private async leaveToWorker(id: string, jobState: string, view: TaskView): Promise<Cancellation> {
    if (jobState === 'delayed') await withRedis(this.deps.redis, () => this.deps.store.promote(id));
    return { status: 202, view: { ...view, cancellationRequested: true } };
  }

  /**
   * `ids` and every child they still wait for (BullMQ's dependencies: a workflow's nodes and the
   * children handlers added at run time), parents first, breadth first; bounded by ten fan-outs'
   * worth of tasks.
   */
  private async withDescendants(ids: readonly string[]): Promise<string[]> {
    const all = new Set(ids);
    let frontier = [...ids];
    const bound = ids.length + 10 * this.deps.config.workflow.maxNodes;
    while (frontier.length > 0 && all.size < bound) {
      const children = (await Promise.all(frontier.map((taskId) => this.deps.store.queues.pendingChildrenOf(taskId)))).flat();
      frontier = children.filter((child) => !all.has(child));
      for (const child of frontier) all.add(child);
    }
    return [...all];
  }

  private async read(id: string): Promise<TaskView> {
    const view = await withRedis(this.deps.redis, () => this.deps.store.read(id));
    if (!view) throw taskNotFound(id);
    return view;
  }

  private recordOf(view: TaskView): CancelledRecord {
    return {
      status: 'cancelled',
      cancelledAt: Date.now(),
      from: view.state === 'delayed' ? 'delayed' : view.state === 'active' ? 'active' : 'queued',
      task: {
        role: view.role,
        createdAt: view.createdAt,
        correlationId: view.correlationId,
        causationId: view.causationId,
        ...(view.owner === undefined ? {} : { owner: view.owner }),
        ...(view.tenant === undefined ? {} : { tenant: view.tenant }),
        ...(view.labels === undefined ? {} : { labels: view.labels }),
        ...(view.workflowId === undefined ? {} : { workflowId: view.workflowId }),
        attempts: view.attempts,
        maxAttempts: view.maxAttempts,
        ...(view.startedAt ? { startedAt: view.startedAt } : {}),
        history: view.history,
      },
    };
  }

  /**
   * Kept while the message may still be delivered (the ledger's window) and, like any finished
   * task, readable for the retention age: a removed job's view lives only in this record.
   * Cancellations are rare, so the longer of the two costs little.
   */
  private ttlMs(view: TaskView): number {
    const retentionMs = this.deps.config.retention.ageSeconds * 1000;
    const role = this.deps.registry.get(view.role);
    if (!role) return retentionMs;
    return Math.max(retentionMs, ledgerTimings(role, view.maxAttempts, this.deps.config).ttlMs);
  }
}

export function taskNotFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `no task with id "${id}" (it may never have existed, or retention removed it)`);
}

function finished(view: TaskView): ApiError {
  return new ApiError('TASK_FINISHED', `task "${view.id}" already ${view.state}; only queued, delayed and active tasks can be cancelled`, {
    state: view.state,
  });
}
