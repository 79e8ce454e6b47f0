/**
 * @taskyard/store: the one place that knows Taskyard's keys in Redis and runs its Lua scripts:
 * connections (one server or a cluster), BullMQ's queues per role, the task store (read a task
 * in one round trip), the ledger's records, dead letters, Idempotency-Key records, `ctx.once`
 * claims and the shared circuit breaker state; and the one loader of Lua scripts (LuaScripts), for
 * libs with keys of their own.
 */
export type { RedisClient } from './redis-client';
export { clusterNodeCredentials, createRedisConnection, isCluster, redisTlsOptions, waitForRedis, type ConnectionKind, type RedisConnectionOptions, type RedisTarget } from './redis-connection';
export { isRedisFullError, isRedisUnavailableError } from './redis-errors';
export {
  checkRedisSafety,
  enforceRedisSafety,
  UnsafeRedisError,
  type RedisSafetyFinding,
  type RedisSafetyPolicy,
  type RedisSafetyReport,
  type SafetySetting,
  type SafetyVerdict,
} from './redis-safety';
export { slotFamilyOf, TaskyardKeys } from './taskyard-keys';
export { LuaScripts, type LuaScriptFile, type WithScripts } from './scripts';
export { RoleQueues, type Added, type AlsoQueue, type QueuedJob, type QueuedNode } from './role-queues';
export { FAIR_TURNS_TTL_MS, FairTurns } from './fair-turns';
export { TenantSlots, type TenantSlot } from './tenant-slots';
export { NOT_STARTED_STATES, toTaskCounts, toTaskState } from './bullmq-states';
export { jobOptionsFor, TASKYARD_BACKOFF, taskyardBackoffDelay, type JobBackoff } from './job-options';
export { TaskStore } from './task-store';
export { fieldsOfFlat } from './flat-fields';
export { INDEX_SETTLE_MS, INDEX_SWEEP_MS, SEARCH_BUDGET, TaskIndex, type TaskIndexLimits, type TaskSearch, type TaskSearchPage } from './task-index';
export { toTaskSummary, type SearchRow } from './task-summary';
export { toTaskView } from './task-view';
export { applyCancellation, cancelledView } from './cancelled-view';
export { MessageRecords, type RecordWrite } from './message-records';
export { indexWindowMs, ledgerTimings, taskIndexLimits, maxRecordTtlMs, type LedgerTimings } from './ledger-timings';
export { DeadLetterStore, type DeadLetterPage } from './dead-letter-store';
export { IdempotencyRecords, type IdempotencyClaim, type IdempotencyRecord } from './idempotency-records';
export { OnceClaims } from './once-claims';
export { WorkflowRecords } from './workflow-records';
export { CircuitStore, readCircuitStates, readSharedCircuits, type CircuitStoreOptions, type ProbeClaim } from './circuit-store';
export { FIRE_JOB_NAME, ScheduleStore, type FireJobData } from './schedule-store';
export { MISSED_HEARTBEATS, WorkerRegistry, type DepartureLog } from './worker-registry';
export { BroadcastStore, decodeBroadcastCursor, encodeBroadcastCursor, type BroadcastPage, type BroadcastPosition } from './broadcast-store';
