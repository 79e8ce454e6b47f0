import { FlowProducer, Queue, type FlowJob, type JobsOptions } from 'bullmq';
import type { QueueCounts, TaskMessage } from '@taskyard/contracts';
import { NOT_STARTED_STATES, toTaskCounts } from './bullmq-states';
import type { RedisClient } from './redis-client';
import { isCluster } from './redis-connection';
import type { TaskyardKeys } from './taskyard-keys';

/** A job exactly as it is (or will be) added to its role's queue; its id is the message id. */
export interface QueuedJob {
  message: TaskMessage;
  options: JobsOptions;
}

/**
 * Taskyard's adapter to BullMQ: one Queue per role (with the prefix TaskyardKeys.queuePrefix, so
 * each role has a hash slot of its own), created on first use and shared by every request or handler
 * of the process over one connection. Everything Taskyard does with BullMQ's queues goes
 * through here, with BullMQ's own API (add, addBulk, FlowProducer, getJobCounts, rateLimit,
 * remove); the one place that names BullMQ's keys is jobKeys, for the task store's read script.
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
   * Adds signed messages to their roles' queues, all or none where Redis allows it: one job is
   * one `add`; several of one role one `addBulk` (a MULTI); several roles, on one Redis, one
   * FlowProducer.addBulk of single-job flows (one MULTI across the queues). On a cluster a MULTI
   * cannot span hash slots, so each role's jobs go in one addBulk of their own, in parallel:
   * every role's share is all or nothing, the whole is not (an Idempotency-Key retry adds what
   * is missing; a job whose id exists is not added twice). Resolves with how many went to each role.
   */
  async addAll(jobs: readonly QueuedJob[]): Promise<Map<string, number>> {
    if (jobs.length === 1) {
      // The submit path: one job, one add (one script call).
      const [{ message, options }] = jobs as [QueuedJob];
      await this.get(message.role).add(message.role, message, options);
      return new Map([[message.role, 1]]);
    }
    const byRole = new Map<string, QueuedJob[]>();
    for (const job of jobs) {
      let group = byRole.get(job.message.role);
      if (!group) byRole.set(job.message.role, (group = []));
      group.push(job);
    }
    if (byRole.size === 1 || isCluster(this.connection)) {
      await Promise.all(
        [...byRole].map(([role, group]) => this.get(role).addBulk(group.map(({ message, options }) => ({ name: role, data: message, opts: options })))),
      );
    } else if (byRole.size > 1) {
      // The queues exist first, so BullMQ's per-queue settings (the events stream's length) are in place.
      for (const role of byRole.keys()) this.get(role);
      await this.flowProducer().addBulk(jobs.map(({ message, options }) => this.flow(message, options)));
    }
    return new Map([...byRole].map(([role, group]) => [role, group.length]));
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

  /** Removes a task's job unless a worker holds it (BullMQ refuses to remove a locked job): true when removed. */
  async remove(role: string, taskId: string): Promise<boolean> {
    return (await this.get(role).remove(taskId)) === 1;
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
   * The BullMQ keys the task store's read script takes for task `taskId` of `role`, in its KEYS
   * order: the job hash and log, then the state sets BullMQ's getState checks.
   */
  jobKeys(role: string, taskId: string): string[] {
    const queue = this.get(role);
    const job = queue.toKey(taskId);
    const { completed, failed, delayed, prioritized, active, wait, paused } = queue.keys;
    return [job, `${job}:logs`, completed!, failed!, delayed!, prioritized!, active!, wait!, paused!, queue.keys['waiting-children']!];
  }

  /** Every known role's queue. */
  all(): Queue[] {
    return this.roles.map((role) => this.get(role));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...[...this.queues.values()].map((queue) => queue.close()), this.flows?.close()]).then(() => undefined);
    return this.closing;
  }

  private flowProducer(): FlowProducer {
    if (!this.flows) {
      // Every node names its own queue's prefix (each role has its own).
      this.flows = new FlowProducer({ connection: this.connection, prefix: this.keys.prefix });
      this.flows.on('error', () => undefined);
    }
    return this.flows;
  }

  private flow(message: TaskMessage, options: JobsOptions): FlowJob {
    return { name: message.role, queueName: this.keys.queueName(message.role), prefix: this.keys.queuePrefix(message.role), data: message, opts: options };
  }
}
