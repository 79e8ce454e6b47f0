import { DispatchError, type SubmitMetadata, type TaskAccepted, type WorkflowNode } from '@taskyard/contracts';
import { derivedTaskId } from '@taskyard/crypto';
import { slotFamilyOf, type QueuedNode } from '@taskyard/store';
import type { MessagePreparer } from './message-preparer';
import type { Origin } from './origin';

/** WORKFLOW_MAX_NODES / WORKFLOW_MAX_DEPTH. */
export interface WorkflowLimits {
  readonly maxNodes: number;
  readonly maxDepth: number;
}

/** A workflow node made, signed and checked: its job, the 202 entry of its task, its children. */
export interface PreparedNode extends QueuedNode {
  accepted: TaskAccepted;
  children: PreparedNode[];
  /** Where the node is in what was sent (`root.children[1]`), for refusals. */
  path: string;
}

/** How the nodes' messages are made: new work under one workflow, or a handler's children. */
export type TreeOrigin =
  | { readonly origin: Origin & { kind: 'api' }; readonly workflowId: string; readonly metadata?: SubmitMetadata | undefined }
  | { readonly origin: Origin & { kind: 'role' } };

/**
 * Makes every node of a workflow (POST /v1/workflows) or of a handler's run-time fan-out
 * (`ctx.fanOut`) with the one message preparer, so each is checked as a task sent alone would
 * be: its role, its submit scope and acceptFrom, its payload, its options. Everything is checked
 * before anything is enqueued, and a refusal names the node's path
 * (`root.children[1].payload.text`). The tree is bounded (size and depth) before any node is made.
 */
export class WorkflowPreparer {
  constructor(
    private readonly preparer: MessagePreparer,
    private readonly limits: WorkflowLimits,
  ) {}

  /** A workflow's root and everything under it. */
  prepareRoot(from: TreeOrigin, root: WorkflowNode): PreparedNode {
    this.checkSize([root], ['root']);
    return this.prepareNode(from, root, 'root', undefined);
  }

  /**
   * A handler's children: ids derived from the parent's id, the wave and each child's place, so
   * adding them again adds nothing new.
   */
  prepareChildren(from: TreeOrigin & { origin: { kind: 'role' } }, children: readonly WorkflowNode[], wave = 1): PreparedNode[] {
    if (children.length === 0) throw new DispatchError('INVALID', 'a fan-out needs at least one child', [{ field: 'children', message: 'empty' }]);
    this.checkSize(children, children.map((_, at) => `children[${at}]`));
    const seed = `${from.origin.parent.id}/wave-${wave}`;
    return children.map((child, at) => this.prepareNode(from, child, `children[${at}]`, seed));
  }

  /**
   * On a Redis Cluster BullMQ links a parent and its children in one script, so a tree must stay
   * in one hash slot: every node of one slot family (see TaskyardKeys). `family` is the parent's,
   * for a fan-out.
   */
  checkOneFamily(nodes: readonly PreparedNode[], family = slotFamilyOf(nodes[0]!.message.role)): void {
    for (const node of walk(nodes)) {
      const own = slotFamilyOf(node.message.role);
      if (own === family) continue;
      throw new DispatchError(
        'INVALID',
        `${node.path}: on a Redis Cluster every task of a workflow is of one role family ("${family}.*"); role "${node.message.role}" is of "${own}"`,
        [{ field: `${node.path}.role`, message: `not of the role family "${family}" (a workflow stays in one hash slot on a cluster)` }],
      );
    }
  }

  /** `seed`: what a fan-out's ids follow from (undefined: a workflow's nodes get new ids). */
  private prepareNode(from: TreeOrigin, node: WorkflowNode, path: string, seed: string | undefined): PreparedNode {
    if (node.options?.dedupe !== undefined) {
      throw new DispatchError('INVALID', `${path}: a workflow's tasks take no options.dedupe`, [{ field: `${path}.options.dedupe`, message: 'not in a workflow' }]);
    }
    const id = seed === undefined ? undefined : derivedTaskId(node.role, `${seed}/${path}`);
    let prepared;
    try {
      [prepared] = this.preparer.prepare(from.origin, [
        {
          role: node.role,
          payload: node.payload,
          options: node.options,
          ...('workflowId' in from ? { workflowId: from.workflowId, metadata: from.metadata } : { id }),
        },
      ]);
    } catch (err) {
      throw atPath(err, path);
    }
    const task = prepared!;
    const children = (node.children ?? []).map((child, at) => this.prepareNode(from, child, `${path}.children[${at}]`, seed));
    return { ...task, onChildFailure: node.onChildFailure ?? 'fail', children, path };
  }

  private checkSize(nodes: readonly WorkflowNode[], paths: readonly string[]): void {
    let count = 0;
    const visit = (node: WorkflowNode, path: string, depth: number): void => {
      count++;
      if (depth > this.limits.maxDepth) {
        throw new DispatchError('INVALID', `${path}: a workflow nests at most ${this.limits.maxDepth} levels (WORKFLOW_MAX_DEPTH)`, [
          { field: path, message: `deeper than ${this.limits.maxDepth} levels` },
        ]);
      }
      (node.children ?? []).forEach((child, at) => visit(child, `${path}.children[${at}]`, depth + 1));
    };
    nodes.forEach((node, at) => visit(node, paths[at]!, 1));
    if (count > this.limits.maxNodes) {
      throw new DispatchError('INVALID', `a workflow holds at most ${this.limits.maxNodes} tasks (WORKFLOW_MAX_NODES); this one has ${count}`, [
        { field: paths.length === 1 ? paths[0]! : 'children', message: `${count} tasks, at most ${this.limits.maxNodes}` },
      ]);
    }
  }
}

/** Every node of the trees, parents before children. */
export function* walk(nodes: readonly PreparedNode[]): Generator<PreparedNode> {
  for (const node of nodes) {
    yield node;
    yield* walk(node.children);
  }
}

/** A refusal of one node, naming where it is: `root.children[1].payload.text`. */
function atPath(err: unknown, path: string): unknown {
  if (!(err instanceof DispatchError)) return err;
  const withPath = (detail: unknown): unknown =>
    detail && typeof detail === 'object' && 'field' in detail ? { ...detail, field: `${path}.${String((detail as { field: unknown }).field)}` } : detail;
  if (err.code === 'UNKNOWN_ROLE') {
    // In a workflow an unknown role is a bad node, as in a batch.
    const known = (err.details as { known?: string[] } | undefined)?.known ?? [];
    return new DispatchError('INVALID', `${path}: ${err.message}`, [{ field: `${path}.role`, message: `unknown role; known: ${known.join(', ')}` }]);
  }
  const details = Array.isArray(err.details) ? err.details.map(withPath) : withPath(err.details);
  return new DispatchError(err.code, `${path}: ${err.message}`, details);
}

/** How many tasks of each role the trees add. */
export function countNodesByRole(nodes: readonly PreparedNode[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { message } of walk(nodes)) counts.set(message.role, (counts.get(message.role) ?? 0) + 1);
  return counts;
}
