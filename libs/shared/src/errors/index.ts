export { TaskyardError } from './taskyard-error';
export { PermanentTaskError, SignatureError, SchemaError } from './permanent-task-error';
export { TransientTaskError, TaskTimeoutError } from './transient-task-error';
export { CancelledError, CANCELLED_CODE } from './cancelled-error';
