import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** True when a Redis answers PING at `url` within `timeoutMs`; `options` e.g. the TLS to reach it with (see redisTlsOptions). */
export async function redisAnswers(url: string, timeoutMs = 1500, options: RedisOptions = {}): Promise<boolean> {
  const redis = new Redis(url, { ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * True when a Redis Cluster reached through `nodes` is up (cluster_state:ok) within `timeoutMs`;
 * `credentials` as every node gets them (see clusterNodeCredentials).
 */
export async function clusterAnswers(nodes: readonly { host: string; port: number }[], credentials: RedisOptions = {}, timeoutMs = 5000): Promise<boolean> {
  const cluster = new Cluster([...nodes], {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    redisOptions: { ...credentials, connectTimeout: timeoutMs, maxRetriesPerRequest: 0 },
  });
  cluster.on('error', () => undefined);
  try {
    await cluster.connect();
    return /cluster_state:ok/.test(String(await cluster.cluster('INFO')));
  } catch {
    return false;
  } finally {
    cluster.disconnect();
  }
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export const INSTALL_REDIS_HINT = [
  'Taskyard needs Redis 7+. Either point REDIS_URL at a running Redis, or install redis-server:',
  '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
  '  macOS:          brew install redis',
  '  Fedora:         sudo dnf install -y redis',
  'then run `npm start` again.',
].join('\n');

export interface RedisServerOptions {
  port: number;
  /** Data directory (created if missing). */
  dir: string;
  /** AOF fsync policy, or 'off' for no persistence at all. */
  appendfsync: 'always' | 'everysec' | 'off';
  maxmemory?: string | undefined;
  /** Defaults to noeviction: queues must never lose keys. */
  maxmemoryPolicy?: string | undefined;
  /** Clients and (in a cluster) the other nodes must give this password (requirepass, masterauth). */
  password?: string | undefined;
  /** TLS only: `port` is the TLS port (the plain one is off), clients are not asked for certificates. */
  tls?: RedisTlsFiles | undefined;
  /** Extra arguments, e.g. a log file. */
  extraArgs?: readonly string[];
  /**
   * In a process group of its own, so Ctrl-C in the terminal does not stop it before the
   * processes that use it have drained (`npm start` stops it last).
   */
  ownProcessGroup?: boolean;
}

/** The PEM files of a TLS redis-server: its certificate and key, and the CA that signed them. */
export interface RedisTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * Starts a redis-server bound to loopback without RDB snapshots and waits until it answers.
 * The one launcher behind `npm start`'s private Redis, the benchmark's and the tests' own.
 */
export async function spawnRedisServer(options: RedisServerOptions): Promise<ChildProcess> {
  mkdirSync(options.dir, { recursive: true });
  const { port, dir, appendfsync, maxmemory, maxmemoryPolicy = 'noeviction', password, tls, extraArgs = [], ownProcessGroup = false } = options;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [
    ...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', appendfsync === 'off' ? 'no' : 'yes',
    ...(appendfsync === 'off' ? [] : ['--appendfsync', appendfsync]),
    '--maxmemory-policy', maxmemoryPolicy,
    ...(maxmemory ? ['--maxmemory', maxmemory] : []),
    ...(password ? ['--requirepass', password, '--masterauth', password] : []),
    ...extraArgs,
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore', detached: ownProcessGroup });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const url = `${tls ? 'rediss' : 'redis'}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`;
  const probe: RedisOptions = tls ? { tls: { ca: readFileSync(tls.caFile, 'utf8') } } : {};
  for (let tries = 0; tries < 100; tries++) {
    if (spawnError) throw new Error(`could not start redis-server (is it installed?): ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) on port ${port}; data dir ${dir}`);
    if (await redisAnswers(url, 500, probe)) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

/**
 * `npm start`'s private redis-server: data in `dir` with AOF on (so queued tasks survive a
 * restart) and noeviction (so Redis never drops tasks).
 */
export function startPrivateRedis(port: number, dir: string): Promise<ChildProcess> {
  return spawnRedisServer({ port, dir, appendfsync: 'everysec', extraArgs: ['--logfile', 'redis.log'], ownProcessGroup: true });
}
