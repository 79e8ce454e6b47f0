import { Job } from 'bullmq';
import { deadLetterPath, parseMessageRecord, roleOfTaskId, type ChildFailurePolicy, type TaskView } from '@taskyard/contracts';
import { applyCancellation } from './cancelled-view';
import { fieldsOfFlat } from './flat-fields';
import { FairTurns } from './fair-turns';
import { MessageRecords } from './message-records';
import type { RedisClient } from './redis-client';
import type { Added, QueuedJob, QueuedNode, RoleQueues } from './role-queues';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';
import { TaskIndex, type TaskIndexLimits } from './task-index';
import { toTaskView } from './task-view';

/**
 * The one place that knows what a task is made of in Redis and how to read and write it:
 * BullMQ's job (its hash, its state, its log of failed attempts) and Taskyard's records beside
 * it (the ledger record, the dead letter). Every one of them sits in the task's role's hash
 * slot, and a task id names its role, so:
 * - read(id) is one script call (read-task.lua): one round trip, whatever the number of roles;
 * - enqueue(jobs) is where new tasks are written with their search index entries (TaskIndex): one
 *   task's just ahead of its add on the same connection, several in the transaction that adds
 *   them; a workflow's or a fan-out's (added by BullMQ's FlowProducer) right after.
 */
export class TaskStore {
  readonly records: MessageRecords;
  readonly index: TaskIndex;
  /** The fair roles' turns: the priorities their new tasks are added with. */
  readonly turns: FairTurns;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
    readonly queues: RoleQueues,
    indexLimits: TaskIndexLimits,
  ) {
    this.records = new MessageRecords(redis, keys);
    this.index = new TaskIndex(redis, keys, queues, indexLimits);
    this.turns = new FairTurns(redis, keys, queues);
  }

  /** Adds signed messages to their queues (see RoleQueues.addAll), indexed; resolves with how many went to each role. */
  enqueue(jobs: readonly QueuedJob[]): Promise<Added> {
    return this.queues.addAll(
      jobs,
      (transaction, job) => this.index.queueOn(transaction, job, 'after-add'),
      // A task whose add succeeded is accepted even if its indexing failed: search misses it, nothing else does.
      (client, job) => this.index.indexAhead(client, job).catch(() => undefined),
    );
  }

  /** Adds a workflow's tree of tasks, all or none (see RoleQueues.addFlow), then indexes them. */
  async enqueueFlow(root: QueuedNode): Promise<void> {
    await this.queues.addFlow(root);
    // Added: a failure to index them leaves them out of search, not the workflow out of Redis.
    await this.index.indexAdded(flatten([root])).catch(() => undefined);
  }

  /** Adds a handler's run-time children to task `parentId` (see RoleQueues.addChildren), then indexes them. */
  async enqueueChildren(parentId: string, onChildFailure: ChildFailurePolicy, children: readonly QueuedNode[]): Promise<void> {
    await this.queues.addChildren(parentId, onChildFailure, children);
    await this.index.indexAdded(flatten(children)).catch(() => undefined);
  }

  /**
   * A task's view (state, attempts, result or error, history, dead letter link), or undefined
   * when there is none: an id that is not a task id, of a role this deployment does not have,
   * never created, or removed by retention. One round trip.
   */
  async read(id: string): Promise<TaskView | undefined> {
    return (await this.inspect(id))?.view;
  }

  /**
   * read(), with the state BullMQ holds the task's job in ('gone' when it has no job any more)
   * and whether the job has a parent (a workflow's or a fan-out's child).
   */
  async inspect(id: string): Promise<{ view: TaskView; jobState: string; hasParent: boolean } | undefined> {
    const role = roleOfTaskId(id);
    if (role === undefined || !this.queues.roles.includes(role)) return undefined;
    const keys = [...this.queues.jobKeys(role, id), this.keys.message(id), this.keys.deadLetter(id)];
    const [flat, state, logs, rawRecord, deadLetter] = (await withScripts(this.redis).taskyardReadTask(...keys, id)) as [
      string[],
      string,
      string[],
      string | null,
      number,
    ];
    const record = parseMessageRecord(rawRecord);
    if (flat.length === 0) {
      const view = applyCancellation(id, undefined, record);
      return view && { view, jobState: 'gone', hasParent: false };
    }
    const job = Job.fromJSON(this.queues.get(role), fieldsOfFlat(flat) as never, id);
    const view = applyCancellation(id, toTaskView(job, state, logs), record);
    if (!view) return undefined;
    // Only a failed task can have a dead letter (a replayed one keeps none).
    if (view.state === 'failed' && deadLetter === 1) view.deadLetter = deadLetterPath(id);
    return { view, jobState: state, hasParent: job.parentKey !== undefined };
  }

  /** Makes a delayed task available now (see RoleQueues.promote). */
  promote(id: string): Promise<boolean> {
    return this.queues.promote(this.keys.roleOf(id), id);
  }

  /** Removes a task's job unless a worker holds it: true when it was removed (see RoleQueues.remove for a parent's children). */
  remove(id: string, options: { children?: boolean } = {}): Promise<boolean> {
    return this.queues.remove(this.keys.roleOf(id), id, options);
  }
}

/** Every node of a tree (or of several), as the job each is. */
function flatten(nodes: readonly QueuedNode[]): QueuedJob[] {
  return nodes.flatMap((node) => [node, ...flatten(node.children)]);
}

