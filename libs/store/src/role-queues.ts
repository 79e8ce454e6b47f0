import { FlowProducer, Job, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { ChildFailurePolicy, QueueCounts, TaskMessage } from '@taskyard/contracts';
import { NOT_STARTED_STATES, toTaskCounts } from './bullmq-states';
import type { RedisClient } from './redis-client';
import { isCluster } from './redis-connection';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/** What an add did: how many new jobs each role got, and for each job the id BullMQ answered. */
export interface Added {
  /** New jobs per role (a deduplicated job is not one). */
  counts: Map<string, number>;
  /** For each job, in order: its own id, or the id of the job it was deduplicated against. */
  ids: string[];
}

function addedOf(jobs: readonly QueuedJob[], answered: readonly (string | undefined)[]): Added {
  const counts = new Map<string, number>();
  const ids = jobs.map(({ message }, at) => {
    const id = answered[at] ?? message.id;
    if (id === message.id) counts.set(message.role, (counts.get(message.role) ?? 0) + 1);
    return id;
  });
  return { counts, ids };
}

/** A job exactly as it is (or will be) added to its role's queue; its id is the message id. */
export interface QueuedJob {
  message: TaskMessage;
  options: JobsOptions;
}

/**
 * Queues more commands on the transaction that adds `job`, right after its add (the task
 * store's index): they are applied with it, or not at all.
 */
export type AlsoQueue = (transaction: ChainableCommander, job: QueuedJob) => void;

/**
 * Sends commands for `job` on `client`, the connection its add goes on, before the add: Redis
 * runs them first (one connection's commands run in order), in the same round trip.
 */
export type SendBefore = (client: RedisClient, job: QueuedJob) => Promise<unknown>;

/** A node of a flow: a job, run after its children, and what it does when one of them fails for good. */
export interface QueuedNode extends QueuedJob {
  onChildFailure: ChildFailurePolicy;
  children: QueuedNode[];
}

/** The BullMQ option a child carries for its parent's policy. */
const CHILD_FAILURE_OPTIONS: Readonly<Record<ChildFailurePolicy, JobsOptions>> = {
  fail: { failParentOnFailure: true },
  ignore: { ignoreDependencyOnFailure: true },
  continue: { continueParentOnFailure: true },
};

/**
 * Taskyard's adapter to BullMQ: one Queue per role (with the prefix TaskyardKeys.queuePrefix, so
 * each role has a hash slot of its own), created on first use and shared by every request or handler
 * of the process over one connection. Everything Taskyard does with BullMQ's queues goes
 * through here, with BullMQ's own API (add, Job.addJob, getJobCounts, rateLimit,
 * remove); the only places that name BullMQ's keys are jobKeys, for the task store's read
 * script, and prioritizedKey, for the fair turns' script.
 */
export class RoleQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly known: ReadonlySet<string>;
  private flows: FlowProducer | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisClient,
    private readonly keys: TaskyardKeys,
    roles: readonly string[],
    /** Events BullMQ keeps per queue (its stream, for QueueEvents listeners); QUEUE_EVENTS_MAX_LEN. */
    private readonly eventsMaxLen = 10_000,
  ) {
    this.known = new Set(roles);
  }

  /** The roles this process knows, in registration order. */
  get roles(): string[] {
    return [...this.known];
  }

  get(role: string): Queue {
    let queue = this.queues.get(role);
    if (!queue) {
      if (!this.known.has(role)) throw new Error(`unknown role "${role}"`);
      queue = new Queue(this.keys.queueName(role), {
        connection: this.connection,
        prefix: this.keys.queuePrefix(role),
        streams: { events: { maxLen: this.eventsMaxLen } },
      });
      // Errors surface on the calls that hit them; without a listener EventEmitter would throw.
      queue.on('error', () => undefined);
      this.queues.set(role, queue);
    }
    return queue;
  }

  /**
   * Adds signed messages to their roles' queues, all or none where Redis allows it, in one MULTI
   * (with what `alsoQueue` adds for each): each job is added by BullMQ's own `Job.addJob` (what
   * Queue.addBulk and FlowProducer run for every job) queued on the transaction, which Redis
   * applies whole, or not at all when the connection or the process dies before EXEC
   * (Queue.addBulk sends a plain pipeline: a batch cut short is half in; FlowProducer.addBulk is
   * one MULTI too, at ~12 % more API CPU per batch task for its flow bookkeeping). On a cluster a
   * MULTI cannot span hash slots, so each role's jobs go in one MULTI of their own, in parallel:
   * every role's share is all or nothing, the whole is not (an Idempotency-Key retry adds what
   * is missing; a job whose id exists is not added twice). Resolves with how many went to each role.
   */
  async addAll(jobs: readonly QueuedJob[], alsoQueue?: AlsoQueue, sendBefore?: SendBefore): Promise<Added> {
    if (jobs.length === 1 && sendBefore) {
      // The submit path: one job, one add, and what sendBefore sends ahead of it on the same
      // connection (no transaction: ioredis builds a pipeline object per MULTI, copying every
      // script defined on the connection — BullMQ's dozens — which doubled the API's CPU per submit).
      const [job] = jobs as [QueuedJob];
      const { message, options } = job;
      const queue = this.get(message.role);
      const before = sendBefore(await queue.client as unknown as RedisClient, job);
      const [added] = await Promise.all([queue.add(message.role, message, options), before]);
      return addedOf(jobs, [added.id]);
    }
    const byRole = new Map<string, QueuedJob[]>();
    for (const job of jobs) {
      let group = byRole.get(job.message.role);
      if (!group) byRole.set(job.message.role, (group = []));
      group.push(job);
    }
    const transactions = isCluster(this.connection) ? [...byRole.values()] : jobs.length > 0 ? [jobs] : [];
    const answered = new Map<QueuedJob, string | undefined>();
    await Promise.all(
      transactions.map(async (group) => {
        const ids = await this.addInOneTransaction(group, alsoQueue);
        group.forEach((job, at) => answered.set(job, ids[at]));
      }),
    );
    return addedOf(jobs, jobs.map((job) => answered.get(job)));
  }

  /** Adds `jobs` in one MULTI; resolves with the job id BullMQ answered for each (another's, for a deduplicated one). */
  private async addInOneTransaction(jobs: readonly QueuedJob[], alsoQueue: AlsoQueue | undefined): Promise<(string | undefined)[]> {
    // Taskyard's scripts on BullMQ's connection (the one it was given), for what alsoQueue queues.
    const client = await this.get(jobs[0]!.message.role).client;
    withScripts(client as unknown as RedisClient);
    // ioredis buffers a transaction's commands until exec(): nothing is sent before.
    const multi = client.multi();
    const transaction = multi as unknown as ChainableCommander;
    const refused: unknown[] = [];
    // Where each job's add script is among the transaction's commands (ioredis counts its MULTI).
    const addAt: number[] = [];
    const first = transaction.length;
    for (const job of jobs) {
      const { message, options } = job;
      const queue = this.get(message.role);
      addAt.push(transaction.length - first);
      // As Job.createBulk does: addJob queues the job's add script on the transaction at once.
      new Job(queue, message.role, message, options, options.jobId).addJob(multi, { parentDependenciesKey: '' }).catch((err: unknown) => refused.push(err));
      alsoQueue?.(transaction, job);
    }
    // BullMQ checks each job's options as it queues it: a refusal throws above or rejects at
    // once (by the next microtask), and then nothing is sent.
    await null;
    if (refused.length > 0) throw refused[0];
    const results = await multi.exec();
    if (!results) throw new Error('the transaction adding the jobs was discarded');
    for (const [err] of results) if (err) throw err;
    return addAt.map((at) => {
      const id = results[at]?.[1];
      return typeof id === 'string' ? id : undefined;
    });
  }

  /**
   * Adds a workflow's tree in one MULTI (BullMQ's FlowProducer): every job or none, each child
   * linked to its parent, which waits for its children (BullMQ's `waiting-children`). On a
   * cluster every node must be of one slot family (see TaskyardKeys), which the dispatcher checks.
   */
  async addFlow(root: QueuedNode): Promise<void> {
    await this.flowProducer().add(this.flowJob(root, undefined));
  }

  /**
   * Adds children to task `parentId` (a handler's run-time fan-out), in one MULTI; the parent
   * then waits for them (Job.moveToWaitingChildren). A child whose id exists is not added twice.
   */
  async addChildren(parentId: string, onChildFailure: ChildFailurePolicy, children: readonly QueuedNode[]): Promise<void> {
    const role = this.keys.roleOf(parentId);
    const parent = { id: parentId, queue: `${this.keys.queuePrefix(role)}:${this.keys.queueName(role)}` };
    await this.flowProducer().addBulk(
      children.map((child) => {
        const job = this.flowJob(child, onChildFailure);
        return { ...job, opts: { ...job.opts, parent } };
      }),
    );
  }

  /**
   * The task ids of the children task `taskId` still waits for (BullMQ's dependencies of its job):
   * a run-time fan-out's, which no workflow record lists.
   */
  async pendingChildrenOf(taskId: string): Promise<string[]> {
    const role = this.keys.roleOf(taskId);
    if (!this.known.has(role)) return [];
    const jobKeys = await this.connection.smembers(`${this.get(role).toKey(taskId)}:dependencies`);
    return jobKeys.map((jobKey) => jobKey.slice(jobKey.lastIndexOf(':') + 1));
  }

  /** Whether a multi-key operation must stay in one hash slot (a Redis Cluster). */
  get slotBound(): boolean {
    return isCluster(this.connection);
  }

  private flowJob(node: QueuedNode, parentPolicy: ChildFailurePolicy | undefined): FlowJob {
    const { message, options } = node;
    return {
      name: message.role,
      queueName: this.keys.queueName(message.role),
      prefix: this.keys.queuePrefix(message.role),
      data: message,
      opts: { ...options, ...(parentPolicy ? CHILD_FAILURE_OPTIONS[parentPolicy] : {}) },
      ...(node.children.length > 0 ? { children: node.children.map((child) => this.flowJob(child, node.onChildFailure)) } : {}),
    };
  }

  private flowProducer(): FlowProducer {
    if (!this.flows) {
      this.flows = new FlowProducer({ connection: this.connection });
      this.flows.on('error', () => undefined);
    }
    return this.flows;
  }

  /** A role's jobs by task state (one script call). */
  async counts(role: string): Promise<QueueCounts> {
    return toTaskCounts(await this.get(role).getJobCounts());
  }

  /** Tasks of `role` not yet started (waiting, paused, delayed, prioritised): what maxQueueDepth limits. */
  async depth(role: string): Promise<number> {
    const counts = await this.get(role).getJobCounts(...NOT_STARTED_STATES);
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  /**
   * Removes a task's job unless a worker holds it (BullMQ refuses to remove a locked job): true
   * when removed. BullMQ removes a parent's children with it unless `children: false`.
   */
  async remove(role: string, taskId: string, { children = true }: { children?: boolean } = {}): Promise<boolean> {
    return (await this.get(role).remove(taskId, { removeChildren: children })) === 1;
  }

  /** Makes a delayed job of `role` available now (BullMQ's promote); false when it is not delayed. */
  async promote(role: string, taskId: string): Promise<boolean> {
    const job = await this.get(role).getJob(taskId);
    if (!job) return false;
    try {
      await job.promote();
      return true;
    } catch {
      // Not delayed (any more): nothing to promote.
      return false;
    }
  }

  /** Keeps every worker of `role` from fetching jobs for `ms` (BullMQ's queue limiter, as queue.rateLimit). */
  async hold(role: string, ms: number): Promise<void> {
    await this.get(role).rateLimit(Math.max(1, Math.ceil(ms)));
  }

  /** Lifts a hold (removes the queue's limiter key). */
  async release(role: string): Promise<void> {
    await this.get(role).removeRateLimitKey();
  }

  /**
   * Pauses `role` everywhere (BullMQ's Queue.pause: the queue's state in Redis): no worker takes
   * its jobs, one that starts later neither; running tasks go on. Bull Board shows it.
   */
  async pause(role: string): Promise<void> {
    await this.get(role).pause();
  }

  /** Resumes a paused role (BullMQ's Queue.resume); a no-op for one that runs. */
  async resume(role: string): Promise<void> {
    await this.get(role).resume();
  }

  async isPaused(role: string): Promise<boolean> {
    return this.get(role).isPaused();
  }

  /**
   * The BullMQ keys the task store's read script takes for task `taskId` of `role`, in its KEYS
   * order: the job hash and log, then the state sets BullMQ's getState checks.
   */
  jobKeys(role: string, taskId: string): string[] {
    const queue = this.get(role);
    const job = queue.toKey(taskId);
    const { completed, failed, delayed, prioritized, active, wait, paused } = queue.keys;
    return [job, `${job}:logs`, completed!, failed!, delayed!, prioritized!, active!, wait!, paused!, queue.keys['waiting-children']!];
  }

  /**
   * BullMQ's sorted set of the role's prioritised jobs (score: priority × 2^32 + a counter), whose
   * first job is the front a fair role's turns are counted from (see FairTurns).
   */
  prioritizedKey(role: string): string {
    return this.get(role).keys.prioritized!;
  }

  /** Every known role's queue. */
  all(): Queue[] {
    return this.roles.map((role) => this.get(role));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...[...this.queues.values()].map((queue) => queue.close()), this.flows?.close()]).then(() => undefined);
    return this.closing;
  }
}
