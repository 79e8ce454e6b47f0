/** @taskyard/dispatch: the one door into the queues, which every message goes through (see Dispatcher). */
export { acceptedAs, Dispatcher, type DispatcherDeps } from './dispatcher';
export { MessagePreparer, type DispatchRequest, type MessagePreparerDeps, type PreparedTask } from './message-preparer';
export { toTaskError } from './task-error';
export { senderOf, sourceOf, type Origin } from './origin';
export { QueueDepthGuard, type QueueFullDetails } from './queue-depth-guard';
export { WorkflowPreparer, type PreparedNode, type WorkflowLimits } from './workflow-preparer';
