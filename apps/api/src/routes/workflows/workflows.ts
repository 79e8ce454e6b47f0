import {
  canSeeTenant,
  maxMessageAgeMs,
  newWorkflowId,
  WorkflowIdSchema,
  workflowState,
  type Principal,
  type SubmitWorkflowBody,
  type TaskView,
  type WorkflowAccepted,
  type WorkflowNodeView,
  type WorkflowRecord,
  type WorkflowTree,
  type WorkflowView,
} from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { Dispatcher, PreparedNode } from '@taskyard/dispatch';
import type { RoleRegistry } from '@taskyard/roles';
import { maxRecordTtlMs, type RedisClient, type TaskStore, type WorkflowRecords } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';
import type { TaskCanceller } from '../tasks/task-canceller';

export interface WorkflowsDeps {
  dispatcher: Dispatcher;
  store: TaskStore;
  records: WorkflowRecords;
  redis: RedisClient;
  canceller: TaskCanceller;
  config: Pick<TaskyardConfig, 'retention' | 'deadLetterTtlMs' | 'idempotencyTtlMs' | 'workflow' | 'worker'>;
  /** The deployment's roles: how long a node's message can still be delivered (the record's TTL). */
  registry: RoleRegistry;
}

/**
 * Workflows (POST/GET/DELETE /v1/workflows): a tree of tasks, children before parents, added in
 * one MULTI by BullMQ's FlowProducer through the dispatcher (every node checked first). Taskyard
 * keeps a record beside the tasks (name, owner, tenant, the tree of task ids); a workflow's
 * state and results are its tasks', read when asked.
 */
export class Workflows {
  constructor(private readonly deps: WorkflowsDeps) {}

  async submit(body: SubmitWorkflowBody, principal: Principal): Promise<WorkflowAccepted> {
    const { dispatcher, records, redis } = this.deps;
    const id = newWorkflowId();
    const root = dispatcher.prepareWorkflow({ kind: 'api', principal }, id, body.root, body.metadata);
    const record: WorkflowRecord = {
      id,
      ...(body.name === undefined ? {} : { name: body.name }),
      createdAt: new Date().toISOString(),
      owner: principal.keyId,
      ...(root.message.metadata.tenant === undefined ? {} : { tenant: root.message.metadata.tenant }),
      root: treeOf(root),
    };
    await withRedis(redis, async () => {
      // The record first: a workflow whose tasks run is always readable.
      await records.write(record, this.ttlMs(root));
      try {
        await dispatcher.enqueueWorkflow(root);
      } catch (err) {
        await records.delete(id).catch(() => undefined);
        throw err;
      }
    });
    return { id, rootTaskId: root.message.id };
  }

  /** The workflow with every node's state and result or error; another tenant's answers like an unknown one. */
  async view(id: string, principal: Principal): Promise<WorkflowView> {
    const record = await this.record(id, principal);
    return this.viewOf(record);
  }

  /**
   * Cancels every unfinished node (see TaskCanceller.cancelAll) and every child a node's
   * handler added at run time (ctx.fanOut, found through BullMQ's dependencies); answers the
   * view after it.
   */
  async cancel(id: string, principal: Principal): Promise<WorkflowView & { cancellationRequested: boolean }> {
    const record = await this.record(id, principal);
    await this.deps.canceller.cancelAll(taskIdsOf(record.root));
    const view = await this.viewOf(record);
    return { ...view, cancellationRequested: someNode(view.root, (node) => node.state === 'active') };
  }

  /**
   * How long the record is kept: as long as its longest-lived node's message may still be
   * delivered (its delay, retries, stalls: maxMessageAgeMs) plus the retention of its result,
   * and at least as long as any record Taskyard keeps (a dead letter).
   */
  private ttlMs(root: PreparedNode): number {
    const { registry, config } = this.deps;
    let longest = 0;
    const visit = (node: PreparedNode): void => {
      const role = registry.get(node.message.role);
      if (role) longest = Math.max(longest, maxMessageAgeMs(role, config.worker));
      node.children.forEach(visit);
    };
    visit(root);
    return Math.max(maxRecordTtlMs(config), longest + config.retention.ageSeconds * 1000);
  }

  private async record(id: string, principal: Principal): Promise<WorkflowRecord> {
    const record = WorkflowIdSchema.safeParse(id).success ? await withRedis(this.deps.redis, () => this.deps.records.read(id)) : undefined;
    if (!record || !canSeeTenant(principal, record.tenant)) {
      throw new ApiError('NOT_FOUND', `no workflow with id "${id}" (it may never have existed, or it expired)`);
    }
    return record;
  }

  private async viewOf(record: WorkflowRecord): Promise<WorkflowView> {
    const ids = taskIdsOf(record.root);
    const views = await withRedis(this.deps.redis, () => Promise.all(ids.map((taskId) => this.deps.store.read(taskId))));
    const byId = new Map<string, TaskView | undefined>(ids.map((taskId, at) => [taskId, views[at]]));
    const root = nodeView(record.root, byId);
    return {
      id: record.id,
      ...(record.name === undefined ? {} : { name: record.name }),
      state: workflowState(root),
      createdAt: record.createdAt,
      ...(record.owner === undefined ? {} : { owner: record.owner }),
      ...(record.tenant === undefined ? {} : { tenant: record.tenant }),
      root,
    };
  }
}

function treeOf(node: PreparedNode): WorkflowTree {
  return { taskId: node.message.id, role: node.message.role, children: node.children.map(treeOf) };
}

/** Every task id of the tree, parents before children. */
function taskIdsOf(tree: WorkflowTree): string[] {
  return [tree.taskId, ...tree.children.flatMap(taskIdsOf)];
}

function nodeView(tree: WorkflowTree, views: ReadonlyMap<string, TaskView | undefined>): WorkflowNodeView {
  const view = views.get(tree.taskId);
  return {
    taskId: tree.taskId,
    role: tree.role,
    state: view?.state ?? 'gone',
    ...(view?.state === 'completed' ? { result: view.result } : {}),
    ...(view?.error ? { error: view.error } : {}),
    children: tree.children.map((child) => nodeView(child, views)),
  };
}

function someNode(node: WorkflowNodeView, test: (node: WorkflowNodeView) => boolean): boolean {
  return test(node) || node.children.some((child) => someNode(child, test));
}
