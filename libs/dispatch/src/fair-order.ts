import type { RoleRegistry } from '@taskyard/roles';
import type { FairTurns, QueuedJob, QueuedNode } from '@taskyard/store';

/**
 * The last step before a fair role's tasks are added: each gets the BullMQ priority of its
 * tenant's next turn (FairTurns), so the tenants with waiting tasks are served in turn. One
 * script call per fair role per enqueue (a batch of 1000 is one call); roles that are not fair
 * pass through untouched, with no Redis command.
 */
export class FairOrder {
  private readonly fair: ReadonlySet<string>;

  constructor(
    private readonly turns: FairTurns,
    registry: RoleRegistry,
  ) {
    this.fair = new Set(registry.all().flatMap((role) => (role.fair ? [role.name] : [])));
  }

  /** Whether `role` takes turns by tenant. */
  isFair(role: string): boolean {
    return this.fair.has(role);
  }

  /** `jobs` with their turns' priorities (the same array when none is of a fair role). */
  async order<J extends QueuedJob>(jobs: readonly J[]): Promise<readonly J[]> {
    // The submit path of a role that is not fair: nothing to reserve.
    if (this.fair.size === 0 || !jobs.some((job) => this.fair.has(job.message.role))) return jobs;
    const priorities = await this.reserve(jobs);
    if (priorities.size === 0) return jobs;
    return jobs.map((job) => withPriority(job, priorities.get(job)));
  }

  /** A tree of nodes (a workflow, a fan-out's children) with its fair roles' turns, every node in one reservation per role. */
  async orderTree<N extends QueuedNode & { children: N[] }>(nodes: readonly N[]): Promise<N[]> {
    const all: N[] = [];
    const collect = (node: N): void => {
      all.push(node);
      node.children.forEach(collect);
    };
    nodes.forEach(collect);
    const priorities = await this.reserve(all);
    if (priorities.size === 0) return [...nodes];
    const rebuild = (node: N): N => ({ ...withPriority(node, priorities.get(node)), children: node.children.map(rebuild) });
    return nodes.map(rebuild);
  }

  /** The priority of each job of a fair role: one reservation per role, in parallel. */
  private async reserve<J extends QueuedJob>(jobs: readonly J[]): Promise<Map<J, number>> {
    const byRole = new Map<string, J[]>();
    for (const job of jobs) {
      if (!this.fair.has(job.message.role)) continue;
      let group = byRole.get(job.message.role);
      if (!group) byRole.set(job.message.role, (group = []));
      group.push(job);
    }
    const priorities = new Map<J, number>();
    await Promise.all(
      [...byRole].map(async ([role, group]) => {
        const reserved = await this.turns.reserve(role, group.map(({ message }) => message.metadata.tenant));
        group.forEach((job, at) => priorities.set(job, reserved[at]!));
      }),
    );
    return priorities;
  }
}

function withPriority<J extends QueuedJob>(job: J, priority: number | undefined): J {
  return priority === undefined ? job : { ...job, options: { ...job.options, priority } };
}
