export { createRedisConnection, waitForRedis, type ConnectionKind, type RedisConnectionOptions } from './redis-connection';
export { jobOptionsFor, type TaskJobOptions } from './job-options';
export { RoleQueues } from './role-queues';
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
export type { Redis } from 'ioredis';
export { isRedisFullError, isRedisUnavailableError } from './redis-errors';
export { TaskyardKeys } from './taskyard-keys';
