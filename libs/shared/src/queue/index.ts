export { createRedisConnection, waitForRedis, type ConnectionKind, type RedisConnectionOptions } from './redis-connection';
export { jobOptionsFor, type TaskJobOptions } from './job-options';
export { RoleQueues } from './role-queues';
export { checkRedisSafety, type RedisSafetyReport } from './redis-safety';
export type { Redis } from 'ioredis';
export { isRedisUnavailableError } from './redis-errors';
export { TaskyardKeys } from './taskyard-keys';
