import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_WORKFLOW_MAX_DEPTH, DEFAULT_WORKFLOW_MAX_NODES, LOG_LEVELS, WORKFLOW_DEPTH_LIMIT, WORKFLOW_NODES_LIMIT, type LogLevel } from '@taskyard/contracts';
import { parseNamedSecrets, type NamedSecret } from '@taskyard/crypto';
import { mergeApiKeys, parseApiKeysVariable, readApiKeysFile, type ApiKey } from './api-keys';
import { ConfigError } from './config-error';
import { durationMs } from './duration';
import { pemCertificatesFile } from './pem-certificates';
import { parseRoleOverrides, type RoleOverrides } from './role-overrides';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Every variable Taskyard reads, with its default. Nothing else in the code reads process.env. */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((value) => /^rediss?:\/\/\S+$/.test(value) && URL.canParse(value), 'must be a redis:// or rediss:// URL'),
  /**
   * Seed nodes of a Redis Cluster (`host:port,host:port`); when set, both apps use ioredis'
   * Cluster client and REDIS_URL is not used.
   */
  REDIS_CLUSTER_NODES: z.string().optional(),
  /**
   * A PEM file of the CA certificate(s) that signed the Redis server's certificate, for a
   * `rediss://` REDIS_URL: trusted instead of Node's bundled CAs (a private CA). Unset: the
   * bundled CAs (a managed Redis with a public certificate).
   */
  REDIS_TLS_CA_FILE: pemCertificatesFile().optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  QUEUE_PREFIX: z
    .string()
    // No "{}": Taskyard puts each role's keys in a hash slot of their own (a tag after the prefix).
    .regex(/^[\w.-]{1,64}$/, 'letters, digits, "_", "." and "-" only (no ":" and no "{}": each role gets a hash tag of its own)')
    .default('taskyard'),
  /** `id:secret,...`: development keys, each with every scope and no tenant. */
  API_KEYS: z.string().default(''),
  /** A JSON file of scoped keys (see README, "Keys, scopes and tenants"); re-read when it changes. */
  API_KEYS_FILE: z.string().optional(),
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (the failed-authentication
   * limit and the audit log use it): `false`, `true` (any peer: only when nothing reaches the port
   * but the proxy), or comma-separated addresses/CIDRs of the proxies.
   */
  TRUST_PROXY: z.string().default('false'),
  /** Failed authentications per client address per minute before that address is refused outright (429); 0 turns it off. */
  AUTH_FAILURES_PER_MINUTE: int(0, 1_000_000).default(30),
  /** When set, GET /metrics (API and workers) needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Serve the OpenAPI document and Swagger UI at /docs. */
  DOCS_ENABLED: bool.default(true),
  /** How far in the future a message's createdAt may be (clocks of API and worker hosts differ a little). */
  MESSAGE_CLOCK_SKEW_MS: int(0, 3_600_000).default(60_000),
  SIGNING_KEYS: z.string().default(''),
  ROLES: z.string().default('all'),
  WORKER_REPLICAS: int(1, 64).default(2),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  BODY_LIMIT: int(1024, 100 * 1024 * 1024).default(1_048_576),
  TASK_RETENTION_SECONDS: int(1, 365 * 86_400).default(86_400),
  TASK_RETENTION_COUNT: int(1, 10_000_000).default(100_000),
  TASK_INDEX_MAX_ENTRIES: int(1000, 100_000_000).default(300_000),
  SSE_MAX_STREAMS_PER_KEY: int(1, 10_000).default(100),
  SSE_HEARTBEAT_MS: int(1000, 300_000).default(15_000),
  SSE_MAX_BUFFER_BYTES: int(16_384, 67_108_864).default(1_048_576),
  QUEUE_EVENTS_MAX_LEN: int(0, 10_000_000).default(10_000),
  METRICS_PORT: int(0, 65535).default(0),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(30_000),
  REDIS_TIMEOUT_MS: int(50, 60_000).default(1500),
  WORKER_LOCK_DURATION_MS: int(1000, 600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: int(1000, 600_000).default(30_000),
  LOG_PRETTY: bool.default(false),
  /** Default handler timeout for roles that declare none (a bare number is seconds, as in the guide). */
  MESSAGE_TIMEOUT: durationMs('s', 1, 86_400_000).default(30_000),
  DEAD_LETTER_TTL: durationMs('s', 1000, 365 * 86_400_000).default(7 * 86_400_000),
  IDEMPOTENCY_TTL: durationMs('s', 1000, 30 * 86_400_000).default(86_400_000),
  /** How long a broadcast (POST /v1/broadcasts) and its acknowledgements are kept; also how far back a reconnecting worker catches up. */
  BROADCAST_RETENTION: durationMs('s', 60_000, 30 * 86_400_000).default(86_400_000),
  /** The most tasks one workflow (POST /v1/workflows) or one run-time fan-out (ctx.fanOut) holds, and how deep a workflow nests. */
  WORKFLOW_MAX_NODES: int(1, WORKFLOW_NODES_LIMIT).default(DEFAULT_WORKFLOW_MAX_NODES),
  WORKFLOW_MAX_DEPTH: int(1, WORKFLOW_DEPTH_LIMIT).default(DEFAULT_WORKFLOW_MAX_DEPTH),
  /** How often a worker process heartbeats into the worker registry; one silent for three heartbeats has left it. */
  WORKER_HEARTBEAT_MS: int(100, 60_000).default(5000),
  /** The most schedules one tenant (and the operators, together) may have. */
  SCHEDULES_MAX_PER_TENANT: int(1, 100_000).default(1000),
  /** Requests per minute per API key, counted in Redis across API replicas; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(0),
  /** Refuse to start when Redis may evict keys or does not persist (instead of a warning). */
  REQUIRE_SAFE_REDIS: bool.default(false),
  /** Load shedding (@fastify/under-pressure): 503 past these; 0 turns a check off. */
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000).default(1000),
  PRESSURE_MAX_HEAP_USED_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(0),
  PRESSURE_MAX_RSS_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(0),
  /** Comma-separated JavaScript modules that export roles (see README, "Adding a role"). */
  ROLE_MODULES: z.string().default(''),
  /** Which of the roles Taskyard ships the deployment has: `all`, `none`, or a comma-separated list (read with the roles, see parseBuiltInRoles). */
  BUILT_IN_ROLES: z.string().default('all'),
});

/** pino's levels (defined with the broadcasts that set them at run time). */
export type { LogLevel };

export interface TaskyardConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly redisUrl: string;
  /** REDIS_CLUSTER_NODES: a cluster's seed nodes; when given, they replace redisUrl. */
  readonly redisClusterNodes: readonly ClusterNode[] | undefined;
  /** REDIS_TLS_CA_FILE's certificates (PEM text), or undefined for Node's bundled CAs. */
  readonly redisTlsCa: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly queuePrefix: string;
  /** API_KEYS and API_KEYS_FILE's keys as read at start (the API re-reads the file when it changes). */
  readonly apiKeys: readonly ApiKey[];
  /** API_KEYS_FILE as an absolute path, if set. */
  readonly apiKeysFile: string | undefined;
  /** API_KEYS' keys alone (kept when the file is re-read). */
  readonly envApiKeys: readonly ApiKey[];
  readonly authFailuresPerMinute: number;
  /** Fastify's trustProxy: false, true, or the proxies' addresses/CIDRs. */
  readonly trustProxy: boolean | readonly string[];
  readonly metricsToken: string | undefined;
  readonly docsEnabled: boolean;
  readonly messageClockSkewMs: number;
  readonly signingKeys: readonly NamedSecret[];
  /** The roles this process serves ("all" resolved to every registered role). */
  readonly roles: readonly string[];
  readonly workerReplicas: number;
  readonly logLevel: LogLevel;
  readonly logPretty: boolean;
  readonly bodyLimit: number;
  readonly retention: { readonly ageSeconds: number; readonly count: number };
  /** The most entries one search index keeps (a role's, or a tenant's, label's or correlation id's within it): the newest tasks. */
  readonly taskIndexMaxEntries: number;
  /** Live event streams (SSE): open streams per API key and process, the heartbeat, what a slow client may leave unread. */
  readonly events: { readonly maxStreamsPerKey: number; readonly heartbeatMs: number; readonly maxBufferBytes: number };
  /** Events BullMQ keeps in each queue's stream (about; trimmed approximately). */
  readonly queueEventsMaxLen: number;
  readonly metricsPort: number;
  readonly shutdownTimeoutMs: number;
  readonly redisTimeoutMs: number;
  readonly worker: { readonly lockDurationMs: number; readonly stalledIntervalMs: number };
  /** ROLE_<ROLE>_<SETTING> overrides of role settings, by role name. */
  readonly roleOverrides: RoleOverrides;
  /** MESSAGE_TIMEOUT: the timeout of roles that declare none. */
  readonly messageTimeoutMs: number;
  readonly deadLetterTtlMs: number;
  readonly idempotencyTtlMs: number;
  /** BROADCAST_RETENTION: how long a broadcast and its acknowledgements are kept. */
  readonly broadcastRetentionMs: number;
  /** WORKFLOW_MAX_NODES / WORKFLOW_MAX_DEPTH: the size of a workflow or a run-time fan-out. */
  readonly workflow: { readonly maxNodes: number; readonly maxDepth: number };
  readonly schedulesMaxPerTenant: number;
  /** WORKER_HEARTBEAT_MS: a worker registers and heartbeats this often; silent for 3× this, it has left. */
  readonly workerHeartbeatMs: number;
  /** 0 = no per-key limit. */
  readonly rateLimitPerMinute: number;
  readonly requireSafeRedis: boolean;
  /** 0 turns a check off. */
  readonly pressure: { readonly maxEventLoopDelayMs: number; readonly maxHeapUsedBytes: number; readonly maxRssBytes: number };
  /** Absolute paths of the modules that add roles (ROLE_MODULES). */
  readonly roleModules: readonly string[];
}

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

export interface LoadConfigOptions {
  /** Every role name the registry knows; ROLES must name only these. */
  knownRoles: readonly string[];
}

/**
 * Parses the configuration once, reporting every bad variable at once (ConfigError).
 * In production API and signing keys are required; elsewhere the launchers supply
 * development keys (see ensureDevKeys).
 */
export function loadConfig(
  source: Readonly<Record<string, string | undefined>>,
  { knownRoles }: LoadConfigOptions,
): TaskyardConfig {
  // Empty variables mean "unset", as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (!parsed.success) throw new ConfigError(problems);
  const env = parsed.data;

  const envApiKeys = parseApiKeysVariable(env.API_KEYS);
  const apiKeysFile = env.API_KEYS_FILE === undefined ? undefined : resolve(env.API_KEYS_FILE);
  const fileApiKeys = apiKeysFile === undefined ? { keys: [], problems: [] } : readApiKeysFile(apiKeysFile);
  const apiKeys = mergeApiKeys(envApiKeys.keys, fileApiKeys.keys);
  const signingKeys = parseNamedSecrets(env.SIGNING_KEYS);
  problems.push(...envApiKeys.problems.map((problem) => `API_KEYS: ${problem}`));
  problems.push(...fileApiKeys.problems.map((problem) => `API_KEYS_FILE: ${problem}`));
  problems.push(...apiKeys.problems.map((problem) => `API_KEYS_FILE: ${problem}`));
  problems.push(...signingKeys.problems.map((problem) => `SIGNING_KEYS: ${problem}`));
  if (apiKeysFile === undefined && envApiKeys.keys.length === 0 && envApiKeys.problems.length === 0) {
    problems.push('API_KEYS or API_KEYS_FILE: required (id:secret,... or a JSON file of scoped keys); `npm start` generates development keys');
  }
  if (signingKeys.secrets.length === 0 && signingKeys.problems.length === 0) {
    problems.push('SIGNING_KEYS: required (kid:secret,...); `npm start` generates development keys');
  }

  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  problems.push(...trustProxy.problems);
  const clusterNodes = parseClusterNodes(env.REDIS_CLUSTER_NODES);
  problems.push(...clusterNodes.problems);
  if (env.REDIS_TLS_CA_FILE !== undefined && !env.REDIS_URL.startsWith('rediss://')) {
    // A cluster's nodes take TLS from REDIS_URL's scheme too (see clusterNodeCredentials).
    problems.push('REDIS_TLS_CA_FILE: set, but REDIS_URL is not a rediss:// URL, so no connection would use TLS; use rediss://');
  }
  const roles = parseRoles(env.ROLES, knownRoles);
  problems.push(...roles.problems);
  const roleOverrides = parseRoleOverrides(source, knownRoles);
  problems.push(...roleOverrides.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    env: env.NODE_ENV,
    redisUrl: env.REDIS_URL,
    redisClusterNodes: clusterNodes.nodes,
    redisTlsCa: env.REDIS_TLS_CA_FILE,
    host: env.HOST,
    port: env.PORT,
    queuePrefix: env.QUEUE_PREFIX,
    apiKeys: Object.freeze(apiKeys.keys),
    apiKeysFile,
    envApiKeys: Object.freeze(envApiKeys.keys),
    authFailuresPerMinute: env.AUTH_FAILURES_PER_MINUTE,
    trustProxy: trustProxy.value,
    metricsToken: env.METRICS_TOKEN,
    docsEnabled: env.DOCS_ENABLED,
    messageClockSkewMs: env.MESSAGE_CLOCK_SKEW_MS,
    signingKeys: signingKeys.secrets,
    roles: roles.names,
    workerReplicas: env.WORKER_REPLICAS,
    logLevel: env.LOG_LEVEL,
    logPretty: env.LOG_PRETTY,
    bodyLimit: env.BODY_LIMIT,
    retention: Object.freeze({ ageSeconds: env.TASK_RETENTION_SECONDS, count: env.TASK_RETENTION_COUNT }),
    taskIndexMaxEntries: env.TASK_INDEX_MAX_ENTRIES,
    events: Object.freeze({ maxStreamsPerKey: env.SSE_MAX_STREAMS_PER_KEY, heartbeatMs: env.SSE_HEARTBEAT_MS, maxBufferBytes: env.SSE_MAX_BUFFER_BYTES }),
    queueEventsMaxLen: env.QUEUE_EVENTS_MAX_LEN,
    metricsPort: env.METRICS_PORT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    redisTimeoutMs: env.REDIS_TIMEOUT_MS,
    worker: Object.freeze({
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
    }),
    roleOverrides: Object.freeze(roleOverrides.overrides),
    messageTimeoutMs: env.MESSAGE_TIMEOUT,
    deadLetterTtlMs: env.DEAD_LETTER_TTL,
    idempotencyTtlMs: env.IDEMPOTENCY_TTL,
    broadcastRetentionMs: env.BROADCAST_RETENTION,
    workflow: Object.freeze({ maxNodes: env.WORKFLOW_MAX_NODES, maxDepth: env.WORKFLOW_MAX_DEPTH }),
    schedulesMaxPerTenant: env.SCHEDULES_MAX_PER_TENANT,
    workerHeartbeatMs: env.WORKER_HEARTBEAT_MS,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    requireSafeRedis: env.REQUIRE_SAFE_REDIS,
    pressure: Object.freeze({
      maxEventLoopDelayMs: env.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: env.PRESSURE_MAX_HEAP_USED_BYTES,
      maxRssBytes: env.PRESSURE_MAX_RSS_BYTES,
    }),
    roleModules: Object.freeze(parseRoleModules(env.ROLE_MODULES)),
  });
}

/**
 * BUILT_IN_ROLES: the names of the built-in roles (`available`) a deployment keeps, `all` by
 * default, `none` for a deployment of its own roles only. An unknown name is a problem.
 */
export function parseBuiltInRoles(raw: string | undefined, available: readonly string[]): { names: string[]; problems: string[] } {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'all') return { names: [...available], problems: [] };
  if (value === 'none') return { names: [], problems: [] };
  const requested = [...new Set(value.split(',').map((name) => name.trim()).filter((name) => name !== ''))];
  const unknown = requested.filter((name) => !available.includes(name));
  return {
    names: requested.filter((name) => available.includes(name)),
    problems: unknown.length === 0 ? [] : [`BUILT_IN_ROLES: unknown built-in role(s) ${unknown.join(', ')}; built in: ${available.join(', ')} (or all, none)`],
  };
}

/** ROLE_MODULES as absolute paths (relative ones are taken from the working directory). */
export function parseRoleModules(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => resolve(entry));
}

/**
 * TRUST_PROXY: `false`, `true`, or comma-separated IP addresses or CIDRs of the proxies. No hop
 * count: it would believe an address a client wrote itself whenever the client reaches the port
 * directly (Fastify refuses numbers for that reason).
 */
function parseTrustProxy(raw: string): { value: boolean | readonly string[]; problems: string[] } {
  const value = raw.trim();
  if (value === 'false' || value === '') return { value: false, problems: [] };
  if (value === 'true') return { value: true, problems: [] };
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrCidr(entry));
  return bad.length === 0
    ? { value: Object.freeze(entries), problems: [] }
    : { value: false, problems: [`TRUST_PROXY: expected false, true or the proxies' IP addresses/CIDRs (e.g. 10.0.0.0/8,::1), got ${bad.map((entry) => `"${entry}"`).join(', ')}`] };
}

function isAddressOrCidr(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

/** `host:port,host:port` (IPv6 hosts in brackets: `[::1]:7000`). */
function parseClusterNodes(raw: string | undefined): { nodes: readonly ClusterNode[] | undefined; problems: string[] } {
  if (raw === undefined || raw.trim() === '') return { nodes: undefined, problems: [] };
  const nodes: ClusterNode[] = [];
  const problems: string[] = [];
  for (const [index, entry] of raw.split(',').map((part) => part.trim()).entries()) {
    const match = /^(\[[0-9a-f:.]+\]|[A-Z0-9.-]+):(\d{1,5})$/i.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
      problems.push(`REDIS_CLUSTER_NODES: entry ${index + 1} ("${entry}") is not host:port (e.g. 10.0.0.1:7000,10.0.0.2:7000)`);
      continue;
    }
    nodes.push(Object.freeze({ host: match[1]!.replace(/^\[|\]$/g, ''), port }));
  }
  if (nodes.length > 100) problems.push(`REDIS_CLUSTER_NODES: at most 100 seed nodes, got ${nodes.length}`);
  return { nodes: problems.length === 0 ? Object.freeze(nodes) : undefined, problems };
}

function parseRoles(raw: string, knownRoles: readonly string[]): { names: string[]; problems: string[] } {
  const requested = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (requested.length === 0 || (requested.length === 1 && requested[0] === 'all')) {
    return { names: [...knownRoles], problems: [] };
  }
  const unknown = requested.filter((name) => !knownRoles.includes(name));
  return {
    names: [...new Set(requested)],
    problems: unknown.length === 0 ? [] : [`ROLES: unknown role(s) ${unknown.join(', ')}; known: ${knownRoles.join(', ')}`],
  };
}
