import type { Cluster, Redis } from 'ioredis';

/** A connection to Redis: one server (`REDIS_URL`) or a cluster (`REDIS_CLUSTER_NODES`). */
export type RedisClient = Redis | Cluster;
