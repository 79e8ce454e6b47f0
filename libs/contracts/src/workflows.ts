import { z } from 'zod';
import { RoleNameSchema, TaskIdSchema, WorkflowIdSchema } from './identifiers';
import { SubmitMetadataSchema, TaskErrorViewSchema, TaskOptionsSchema } from './task-api';
import { TaskStateSchema } from './task-state';

/** The hard caps of a workflow; the deployment's WORKFLOW_MAX_NODES / WORKFLOW_MAX_DEPTH are at most these. */
export const WORKFLOW_NODES_LIMIT = 10_000;
export const WORKFLOW_DEPTH_LIMIT = 32;
/** WORKFLOW_MAX_NODES and WORKFLOW_MAX_DEPTH when a deployment sets neither. */
export const DEFAULT_WORKFLOW_MAX_NODES = 1000;
export const DEFAULT_WORKFLOW_MAX_DEPTH = 10;

/**
 * What a parent does when one of its children fails for good (its last attempt failed, or it
 * was cancelled), as BullMQ's flows do it:
 * - `fail` (the default): the parent fails too, and so on up the tree (failParentOnFailure);
 * - `ignore`: the parent runs once its other children are done; `ctx.children()` shows the
 *   failure (ignoreDependencyOnFailure);
 * - `continue`: fail fast — the parent's children that have not started are dropped, the ones
 *   running finish, and the parent runs then, seeing the failure (continueParentOnFailure and
 *   removeUnprocessedChildren, as BullMQ means them to be used together).
 */
export const ChildFailurePolicySchema = z.enum(['fail', 'ignore', 'continue']);
export type ChildFailurePolicy = z.infer<typeof ChildFailurePolicySchema>;

export interface WorkflowNode {
  role: string;
  payload?: unknown;
  options?: z.infer<typeof TaskOptionsSchema> | undefined;
  onChildFailure?: ChildFailurePolicy | undefined;
  children?: WorkflowNode[] | undefined;
}

/** One node of a workflow: a task of `role`, run after its `children` (a tree; BullMQ's flow). */
export const WorkflowNodeSchema: z.ZodType<WorkflowNode> = z
  .object({
    role: RoleNameSchema,
    payload: z.unknown(),
    options: TaskOptionsSchema.optional(),
    onChildFailure: ChildFailurePolicySchema.optional(),
    get children() {
      return z.array(WorkflowNodeSchema).max(WORKFLOW_NODES_LIMIT).optional();
    },
  })
  .strict()
  // Named, so the OpenAPI document shows the recursive node as one component.
  .meta({ id: 'WorkflowNode' });

export const SubmitWorkflowBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    root: WorkflowNodeSchema,
    /** Correlation id, tenant and labels of every node's task. */
    metadata: SubmitMetadataSchema.optional(),
  })
  .strict();
export type SubmitWorkflowBody = z.infer<typeof SubmitWorkflowBodySchema>;

export const WorkflowAcceptedSchema = z.object({ id: WorkflowIdSchema, rootTaskId: TaskIdSchema });
export type WorkflowAccepted = z.infer<typeof WorkflowAcceptedSchema>;

/**
 * A node's task state; `gone` once its task no longer exists (retention removed it, or an
 * `onChildFailure: "continue"` parent dropped it before it started).
 */
export const WorkflowNodeStateSchema = z.union([TaskStateSchema, z.literal('gone')]);

export interface WorkflowNodeView {
  taskId: string;
  role: string;
  state: z.infer<typeof WorkflowNodeStateSchema>;
  result?: unknown;
  error?: z.infer<typeof TaskErrorViewSchema> | undefined;
  children: WorkflowNodeView[];
}

export const WorkflowNodeViewSchema: z.ZodType<WorkflowNodeView> = z.object({
  taskId: TaskIdSchema,
  role: RoleNameSchema,
  state: WorkflowNodeStateSchema,
  result: z.unknown().optional(),
  error: TaskErrorViewSchema.optional(),
  get children() {
    return z.array(WorkflowNodeViewSchema);
  },
}).meta({ id: 'WorkflowNodeView' });

export const WorkflowViewSchema = z.object({
  id: WorkflowIdSchema,
  name: z.string().optional(),
  /**
   * Its root task's state once that is finished; before, `active` once any node started, else
   * `queued` (or `delayed`); `gone` once retention removed the root's task.
   */
  state: WorkflowNodeStateSchema,
  createdAt: z.iso.datetime(),
  owner: z.string().optional(),
  tenant: z.string().optional(),
  root: WorkflowNodeViewSchema,
});
export type WorkflowView = z.infer<typeof WorkflowViewSchema>;

/** DELETE /v1/workflows/:id: the view after the cancellation, and whether some node is still being aborted. */
export const WorkflowCancelledSchema = WorkflowViewSchema.extend({ cancellationRequested: z.boolean() });

export const WorkflowIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

/** A workflow's shape as its record keeps it: each node's task id and role. */
export interface WorkflowTree {
  taskId: string;
  role: string;
  children: WorkflowTree[];
}

export const WorkflowTreeSchema: z.ZodType<WorkflowTree> = z.object({
  taskId: TaskIdSchema,
  role: RoleNameSchema,
  get children() {
    return z.array(WorkflowTreeSchema);
  },
});

/** What Redis keeps of a workflow (TaskyardKeys.workflow). */
export const WorkflowRecordSchema = z.object({
  id: WorkflowIdSchema,
  name: z.string().optional(),
  createdAt: z.iso.datetime(),
  owner: z.string().optional(),
  tenant: z.string().optional(),
  root: WorkflowTreeSchema,
});
export type WorkflowRecord = z.infer<typeof WorkflowRecordSchema>;

/** The state of a workflow from its nodes' (see WorkflowViewSchema.state). */
export function workflowState(root: WorkflowNodeView): z.infer<typeof WorkflowNodeStateSchema> {
  if (root.state === 'completed' || root.state === 'failed' || root.state === 'cancelled' || root.state === 'gone') return root.state;
  let started = false;
  let waiting = false;
  let delayed = false;
  const visit = (node: WorkflowNodeView): void => {
    if (node.state === 'queued') waiting = true;
    else if (node.state === 'delayed') delayed = true;
    // Anything else started: it runs, or ran (a gone node finished before retention took it, or was dropped).
    else started = true;
    node.children.forEach(visit);
  };
  visit(root);
  if (started) return 'active';
  return delayed && !waiting ? 'delayed' : 'queued';
}
