/** @taskyard/dispatch: the one door into the queues, which every message goes through (see Dispatcher). */
export { Dispatcher, type DispatcherDeps, type DispatchRequest, type PreparedTask } from './dispatcher';
export { senderOf, sourceOf, type Origin } from './origin';
export { QueueDepthGuard, type QueueFullDetails } from './queue-depth-guard';
