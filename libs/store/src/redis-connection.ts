import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClient } from './redis-client';

export type ConnectionKind = 'producer' | 'worker';

/** Where Redis is: one server, or the seed nodes of a cluster (which replace the URL when given). */
export interface RedisTarget {
  readonly redisUrl: string;
  readonly redisClusterNodes?: readonly { readonly host: string; readonly port: number }[] | undefined;
  /** For a `rediss://` URL: the CA certificates (PEM) to trust instead of Node's bundled ones (REDIS_TLS_CA_FILE). */
  readonly redisTlsCa?: string | undefined;
}

export interface RedisConnectionOptions {
  /** A name shown in `CLIENT LIST`, e.g. `taskyard-api`. */
  name: string;
  /**
   * For producers: how long one command may take before it is failed. Together with the
   * disabled offline queue this makes an outage an immediate error instead of a hung request.
   */
  commandTimeoutMs?: number;
}

/** Reconnect forever, quickly at first, at most every 2 s. */
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

/**
 * Connections are built for their use:
 * - `producer` (the API): fail fast. No offline queue and no resending after a reconnect, so a
 *   command issued while Redis is away errors at once and is never sent later behind the
 *   caller's back. (A command Redis executed just before dying may still have taken effect:
 *   a 503 means "not confirmed": a client that retries should send an Idempotency-Key, or it may enqueue twice.)
 * - `worker`: never give up (`maxRetriesPerRequest: null`, as BullMQ requires), queue commands
 *   while reconnecting, and ride out a Redis restart.
 * With REDIS_CLUSTER_NODES it is an ioredis Cluster client with the same behaviour per node, but
 * one: the Cluster client sends a command again when its connection closed (retryDelayOnFailover),
 * which it needs while the cluster moves slots and fails over, and which cannot be turned off for
 * a producer without refusing requests whenever it re-arranges its connections (tried: the
 * integration suite then saw 503s). Every command the API sends is safe to repeat — job ids,
 * SET NX records, claim scripts — but the per-key rate-limit counter, which may count twice.
 */
export function createRedisConnection(target: RedisTarget, kind: ConnectionKind, options: RedisConnectionOptions): RedisClient {
  const common: RedisOptions = { connectionName: options.name, retryStrategy };
  const specific: RedisOptions =
    kind === 'producer'
      ? {
          enableOfflineQueue: false,
          // Never resend a command after a reconnect: its caller may already have been told it failed.
          autoResendUnfulfilledCommands: false,
          maxRetriesPerRequest: 1,
          ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
        }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null };
  const nodes = target.redisClusterNodes;
  if (!nodes || nodes.length === 0) return new Redis(target.redisUrl, { ...common, ...specific, ...redisTlsOptions(target.redisUrl, target.redisTlsCa) });
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...common, ...specific, ...clusterNodeCredentials(target.redisUrl, target.redisTlsCa) },
    enableOfflineQueue: specific.enableOfflineQueue ?? true,
    clusterRetryStrategy: retryStrategy,
    // Follow MOVED/ASK (resharding, failover) a few times before failing a command.
    maxRedirections: 16,
  };
  return new Cluster(nodes.map(({ host, port }) => ({ host, port })), clusterOptions);
}

/**
 * What every node of a cluster is connected with, taken from REDIS_URL (whose host then does not
 * matter): its user name and password (AUTH) and, for `rediss://`, TLS (trusting `tlsCa`, when
 * given). A managed cluster usually needs both; the seed list has no room for them.
 */
export function clusterNodeCredentials(redisUrl: string, tlsCa?: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    return {};
  }
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...redisTlsOptions(redisUrl, tlsCa),
  };
}

/**
 * TLS for a `rediss://` URL (none for `redis://`), trusting `tlsCa` instead of Node's bundled
 * CAs when given. ioredis turns TLS on for `rediss://` by itself; a CA needs saying.
 */
export function redisTlsOptions(redisUrl: string, tlsCa: string | undefined): Pick<RedisOptions, 'tls'> {
  if (!redisUrl.startsWith('rediss://')) return {};
  return { tls: tlsCa === undefined ? {} : { ca: tlsCa } };
}

/** True for a cluster connection: multi-key work must stay within one hash slot there. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** Resolves once `redis` is connected and ready; rejects after `timeoutMs`. */
export function waitForRedis(redis: RedisClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}
