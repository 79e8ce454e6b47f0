import type { ChildFailurePolicy, Principal, SubmitMetadata, TaskMessage, WorkflowNode } from '@taskyard/contracts';
import type { TaskyardConfig } from '@taskyard/config';
import type { MessageSigner } from '@taskyard/crypto';
import type { RoleRegistry } from '@taskyard/roles';
import { slotFamilyOf, type Added, type QueuedJob, type TaskStore } from '@taskyard/store';
import { FairOrder } from './fair-order';
import { MessagePreparer, type DispatchRequest, type PreparedTask } from './message-preparer';
import type { Origin } from './origin';
import { QueueDepthGuard } from './queue-depth-guard';
import { countNodesByRole, walk, WorkflowPreparer, type PreparedNode } from './workflow-preparer';

export type { DispatchRequest, PreparedTask } from './message-preparer';

export interface DispatcherDeps {
  /** The deployment's roles, with its settings applied. */
  registry: RoleRegistry;
  store: TaskStore;
  signer: MessageSigner;
  config: Pick<TaskyardConfig, 'retention' | 'workflow'>;
  /** Called with how many tasks each role got, after every enqueue (the API counts submissions with it). */
  onEnqueued?: ((counts: ReadonlyMap<string, number>) => void) | undefined;
}

/**
 * The one door into the queues (Sidekiq's client: every push goes through one chain). Every way a
 * message enters a queue — POST /v1/tasks, the batch, topics, `ctx.send`, `ctx.publish`,
 * dead-letter replay — comes here, and every message goes through the same steps:
 *
 *   resolve the role → check access (its acceptFrom) → validate the payload (depth, schema) →
 *   make or derive the message and sign it → job options → admit (maxQueueDepth) →
 *   a fair role's turns (its tasks' priorities, see FairOrder) → enqueue.
 *
 * Everything a request carries is checked before anything is enqueued, and a refusal is a
 * DispatchError (UNKNOWN_ROLE, UNKNOWN_TOPIC, FORBIDDEN, INVALID, QUEUE_FULL) that each edge maps
 * once: the API to its HTTP error, a worker to a task error. Several messages are enqueued all or
 * none on one Redis (see RoleQueues.addAll for a cluster).
 */
export class Dispatcher {
  private readonly depthGuard: QueueDepthGuard;
  private readonly preparer: MessagePreparer;
  private readonly workflows: WorkflowPreparer;
  private readonly fairOrder: FairOrder;

  constructor(private readonly deps: DispatcherDeps) {
    this.depthGuard = new QueueDepthGuard(deps.store.queues, deps.registry);
    this.fairOrder = new FairOrder(deps.store.turns, deps.registry);
    this.preparer = new MessagePreparer(deps);
    this.workflows = new WorkflowPreparer(this.preparer, deps.config.workflow);
  }

  /** Makes, checks and enqueues `requests` (one, a batch, or a fan-out); resolves with what was enqueued. */
  async dispatch(origin: Origin, requests: readonly DispatchRequest[]): Promise<PreparedTask[]> {
    const tasks = this.prepare(origin, requests);
    await this.admit(tasks);
    return acceptedAs(tasks, await this.enqueue(tasks));
  }

  /**
   * Makes and checks every node of a workflow (each as a task sent alone: role, scope,
   * acceptFrom, payload, options; a refusal names the node's path), enqueueing nothing; on a
   * Redis Cluster the nodes must be of one role family.
   */
  prepareWorkflow(origin: Origin & { kind: 'api' }, workflowId: string, root: WorkflowNode, metadata?: SubmitMetadata): PreparedNode {
    this.preparer.checkMaySubmit(origin);
    const prepared = this.workflows.prepareRoot({ origin, workflowId, metadata }, root);
    if (this.deps.store.queues.slotBound) this.workflows.checkOneFamily([prepared]);
    return prepared;
  }

  /** Admits and adds a prepared workflow, all its tasks or none (BullMQ's FlowProducer). */
  async enqueueWorkflow(root: PreparedNode): Promise<void> {
    await this.admit([...walk([root])]);
    const [ordered] = await this.fairOrder.orderTree([root]);
    await this.deps.store.enqueueFlow(ordered!);
    this.deps.onEnqueued?.(countNodesByRole([root]));
  }

  /**
   * A handler's run-time fan-out: makes and checks `children` (and theirs) as messages derived from
   * the parent's, with ids derived from its id, and adds them under the parent in one MULTI. The
   * parent then waits for them (the caller moves it to waiting-children).
   */
  async fanOut(origin: Origin & { kind: 'role' }, onChildFailure: ChildFailurePolicy, children: readonly WorkflowNode[], wave = 1): Promise<PreparedNode[]> {
    const prepared = this.workflows.prepareChildren({ origin }, children, wave);
    if (this.deps.store.queues.slotBound) this.workflows.checkOneFamily(prepared, slotFamilyOf(origin.parent.role));
    await this.admit([...walk(prepared)]);
    await this.deps.store.enqueueChildren(origin.parent.id, onChildFailure, await this.fairOrder.orderTree(prepared));
    this.deps.onEnqueued?.(countNodesByRole(prepared));
    return prepared;
  }

  /** A schedule's run as its upsert checks it (see MessagePreparer.checkScheduled); enqueues nothing. */
  checkScheduled(principal: Principal, origin: Origin & { kind: 'schedule' }, request: DispatchRequest): PreparedTask {
    return this.preparer.checkScheduled(principal, origin, request);
  }

  /** Refuses (FORBIDDEN) an API key that holds no submit scope at all, before any role is named. */
  checkMaySubmit(origin: Origin): void {
    this.preparer.checkMaySubmit(origin);
  }

  /** One request for every role subscribing to `topic` (see MessagePreparer.topicRequests). */
  topicRequests(topic: string, request: Omit<DispatchRequest, 'role'>): DispatchRequest[] {
    return this.preparer.topicRequests(topic, request);
  }

  /** Checks every request and makes its signed message and job options, enqueueing nothing (see MessagePreparer.prepare). */
  prepare(origin: Origin, requests: readonly DispatchRequest[], options: { batch?: boolean } = {}): PreparedTask[] {
    return this.preparer.prepare(origin, requests, options);
  }

  /** Refuses (QUEUE_FULL) work that would take a depth-limited role past its limit; free for roles without one. */
  async admit(tasks: readonly QueuedJob[]): Promise<void> {
    if (this.isDepthLimited(tasks)) await this.depthGuard.admit(countByRole(tasks));
  }

  /** admit() for `count` tasks of `role` not made yet (a bulk replay is admitted or refused whole). */
  async admitCount(role: string, count: number): Promise<void> {
    if (this.depthGuard.isLimited(role)) await this.depthGuard.admit(new Map([[role, count]]));
  }

  /** True when admit() would ask Redis about any of these tasks' roles. */
  isDepthLimited(tasks: readonly QueuedJob[]): boolean {
    return tasks.some(({ message }) => this.depthGuard.isLimited(message.role));
  }

  /** Adds prepared (or stored) jobs to their queues; a deduplicated one answers the id of the task it duplicates. */
  async enqueue(tasks: readonly QueuedJob[]): Promise<Added> {
    const added = await this.deps.store.enqueue(await this.fairOrder.order(tasks));
    this.deps.onEnqueued?.(added.counts);
    return added;
  }

  /**
   * Adds jobs that may be queued already (a pending Idempotency-Key record's): BullMQ keeps a job
   * whose id exists, so nothing is added twice; not counted as new work.
   */
  async redrive(jobs: readonly QueuedJob[]): Promise<void> {
    await this.deps.store.enqueue(await this.fairOrder.order(jobs));
  }

  /** The job of an already signed message (a dead letter's claimed replay): its role's job options. */
  jobOf(message: TaskMessage): QueuedJob {
    return this.preparer.jobOf(message);
  }
}

/**
 * The tasks as enqueued: one deduplicated against a queued task answers that task's id
 * (`deduplicated: true`; its state is the one it was accepted with until the caller reads it).
 */
export function acceptedAs(tasks: readonly PreparedTask[], added: Added): PreparedTask[] {
  return tasks.map((task, at) => {
    const id = added.ids[at] ?? task.message.id;
    return id === task.message.id ? task : { ...task, accepted: { ...task.accepted, id, deduplicated: true } };
  });
}

/** How many tasks of each role `tasks` add. */
function countByRole(tasks: readonly QueuedJob[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { message } of tasks) counts.set(message.role, (counts.get(message.role) ?? 0) + 1);
  return counts;
}
