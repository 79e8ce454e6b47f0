/**
 * @taskyard/testing: run a role's handler in a unit test, without Redis or a worker, and see
 * what it did (its result or outcome, the tasks it sent and published, its progress and
 * `ctx.once` calls, its log lines).
 */
export { runRole, type PublishedMessage, type RoleRun, type RunRoleOptions, type SentMessage } from './run-role';
