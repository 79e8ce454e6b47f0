/**
 * @taskyard/roles: what a team writes a role with (defineRole, the handler's context, outcomes,
 * errors) and how a deployment assembles its roles (the registry, ROLE_MODULES, overrides).
 */
export {
  defineRole,
  isRoleDefinition,
  type AnyRole,
  type BatchEntry,
  type BatchHandler,
  type BatchOutcome,
  type RoleDefinition,
  type RoleHandler,
  type RoleSpec,
  type RoleSpecBroadcasts,
} from './define-role';
export {
  broadcastHandlerProblems,
  checkBroadcast,
  type AnyBroadcastHandlers,
  type BroadcastContext,
  type BroadcastHandler,
  type BroadcastHandlers,
  type BroadcastIssue,
  type CheckedBroadcast,
} from './broadcasts';
export { RoleRegistry } from './role-registry';
export { child, toWorkflowNodes, type ChildNode, type ChildOutcome, type OutputOf, type PayloadOf, type Published, type SendOptions, type TaskContext, type TopicPayloadOf } from './task-context';
export { cancel, fanOut, MAX_SNOOZES, outcomeOf, parseRetryAfter, snooze, type HandlerOutcome, type Outcome } from './outcomes';
export { defineTopic, topicName, type AnyTopic, type TopicDefinition } from './topics';
export { type AnyPoolSpec, type PoolSpec } from './pools';
export { effectiveRoles } from './effective-roles';
export { loadRoleRegistry } from './role-modules';
// The errors a handler throws, so role modules need this package only.
export { CancelledError, PermanentTaskError, TransientTaskError, type ChildFailurePolicy, type TransientErrorOptions } from '@taskyard/contracts';
