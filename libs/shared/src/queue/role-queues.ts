import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TaskMessage } from '../contracts/envelope';
import type { RoleRegistry } from '../contracts/role';

/**
 * One BullMQ Queue per role, created on first use and shared by every request or handler of the
 * process over one Redis connection (the pool the guide's "resource pooling" asks for).
 */
export class RoleQueues {
  private readonly queues = new Map<string, Queue>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly registry: RoleRegistry,
    /** Events BullMQ keeps per queue (its stream, for QueueEvents listeners); QUEUE_EVENTS_MAX_LEN. */
    private readonly eventsMaxLen = 10_000,
  ) {}

  get(role: string): Queue {
    let queue = this.queues.get(role);
    if (!queue) {
      if (!this.registry.has(role)) throw new Error(`unknown role "${role}"`);
      queue = new Queue(role, { connection: this.connection, prefix: this.prefix, streams: { events: { maxLen: this.eventsMaxLen } } });
      // Errors surface on the calls that hit them; without a listener EventEmitter would throw.
      queue.on('error', () => undefined);
      this.queues.set(role, queue);
    }
    return queue;
  }

  /**
   * Adds signed messages to their roles' queues: one addBulk per role, all pipelined on the one
   * connection. Resolves with how many went to each role.
   */
  async addAll(jobs: readonly { message: TaskMessage; options: JobsOptions }[]): Promise<Map<string, number>> {
    const byRole = new Map<string, { name: string; data: TaskMessage; opts: JobsOptions }[]>();
    for (const { message, options } of jobs) {
      let group = byRole.get(message.role);
      if (!group) byRole.set(message.role, (group = []));
      group.push({ name: message.role, data: message, opts: options });
    }
    await Promise.all([...byRole].map(([role, group]) => this.get(role).addBulk(group)));
    return new Map([...byRole].map(([role, group]) => [role, group.length]));
  }

  /** Every registered role's queue. */
  all(): Queue[] {
    return this.registry.names().map((name) => this.get(name));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.queues.values()].map((queue) => queue.close())).then(() => undefined);
    return this.closing;
  }
}
