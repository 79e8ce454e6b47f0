import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { withDevKeys } from './dev-keys';
import { ROLE_SETTING_BOUNDS, ROLE_SETTING_OVERRIDES } from '@taskyard/contracts';
import { loadConfig } from './load-config';
import { sha256Hex } from './api-keys';

const knownRoles = ['echo', 'docs.ingest'];
const keys = { API_KEYS: 'main:api-secret-0123456789', SIGNING_KEYS: 'k1:signing-secret-0123456789' };

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadConfig(source, { knownRoles });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(keys, { knownRoles });
    expect(config).toMatchObject({
      env: 'development',
      redisUrl: 'redis://127.0.0.1:6379',
      host: '127.0.0.1',
      port: 3000,
      queuePrefix: 'taskyard',
      roles: knownRoles,
      workerReplicas: 2,
      logLevel: 'info',
      bodyLimit: 1_048_576,
      retention: { ageSeconds: 86_400, count: 100_000 },
      metricsPort: 0,
    });
    expect(config.apiKeys).toEqual([
      { id: 'main', secret: 'api-secret-0123456789', secretSha256: sha256Hex('api-secret-0123456789'), scopes: ['admin'], tenant: undefined, expiresAt: undefined },
    ]);
    expect(config).toMatchObject({ apiKeysFile: undefined, authFailuresPerMinute: 30, metricsToken: undefined, docsEnabled: true, messageClockSkewMs: 60_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every bad variable at once, each by name', () => {
    const problems = problemsOf({ ...keys, PORT: 'eighty', REDIS_URL: 'http://x', QUEUE_PREFIX: 'a:b', LOG_LEVEL: 'loud' });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(expect.arrayContaining(['PORT', 'REDIS_URL', 'QUEUE_PREFIX', 'LOG_LEVEL']));
    expect(problems).toHaveLength(4);
  });

  it('requires API and signing keys, and checks their form', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^API_KEYS or API_KEYS_FILE: required/),
      expect.stringMatching(/^SIGNING_KEYS: required/),
    ]);
    expect(problemsOf({ API_KEYS: 'nocolon', SIGNING_KEYS: 'k1:short' })).toEqual([
      expect.stringMatching(/^API_KEYS: entry 1/),
      expect.stringMatching(/^SIGNING_KEYS: entry 1 \("k1"\): the secret must be at least 16/),
    ]);
    expect(problemsOf({ ...keys, API_KEYS: 'a:0123456789abcdef,a:fedcba9876543210' })).toEqual([expect.stringMatching(/appears twice/)]);
  });

  it('resolves ROLES and refuses unknown roles', () => {
    expect(loadConfig({ ...keys, ROLES: 'echo, echo' }, { knownRoles }).roles).toEqual(['echo']);
    expect(problemsOf({ ...keys, ROLES: 'echo,nope' })).toEqual([expect.stringMatching(/^ROLES: unknown role\(s\) nope/)]);
  });

  it('reads per-role overrides (ROLE_<ROLE>_<SETTING>) and refuses bad ones', () => {
    const config = loadConfig({ ...keys, ROLE_ECHO_CONCURRENCY: '20', ROLE_DOCS_INGEST_BACKOFF_JITTER: '0.5' }, { knownRoles });
    expect(config.roleOverrides).toEqual({ echo: { concurrency: 20 }, 'docs.ingest': { backoffJitter: 0.5 } });
    const fair = loadConfig({ ...keys, ROLE_ECHO_TENANT_CONCURRENCY: '4', ROLE_ECHO_TENANT_RATE_MAX: '50', ROLE_ECHO_TENANT_RATE_DURATION_MS: '1000' }, { knownRoles });
    expect(fair.roleOverrides).toEqual({ echo: { tenantConcurrency: 4, tenantRateMax: 50, tenantRateDurationMs: 1000 } });
    expect(problemsOf({ ...keys, ROLE_ECHO_TENANT_CONCURRENCY: '0' })).toEqual(['ROLE_ECHO_TENANT_CONCURRENCY: expected an integer from 1 to 100000, got "0"']);
    expect(problemsOf({ ...keys, ROLE_ECHO_CONCURRENCY: '1.5', ROLE_NOPE_ATTEMPTS: '2', ROLE_ECHO_COLOUR: 'red' })).toHaveLength(3);
  });
});

describe('role settings overrides, derived from the settings bounds', () => {
  it('has a ROLE_<ROLE>_<SETTING> variable for every bounded setting, named from its key', () => {
    expect([...ROLE_SETTING_OVERRIDES.keys()]).toEqual(
      expect.arrayContaining(['CONCURRENCY', 'ATTEMPTS', 'TIMEOUT_MS', 'BACKOFF_DELAY_MS', 'BACKOFF_JITTER', 'RATE_LIMIT_MAX', 'RATE_LIMIT_DURATION_MS', 'MAX_QUEUE_DEPTH', 'BREAKER_THRESHOLD_PERCENT', 'BREAKER_VOLUME', 'BREAKER_RESET_MS', 'BREAKER_WINDOW_MS', 'ACCEPT_FROM', 'TOPICS']),
    );
    expect(ROLE_SETTING_OVERRIDES.size).toBe(Object.keys(ROLE_SETTING_BOUNDS).length + 2);
  });

  it('holds a variable to the bounds a role definition is held to, saying them', () => {
    for (const [key, schema] of Object.entries(ROLE_SETTING_BOUNDS)) {
      const variable = `ROLE_ECHO_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
      expect(problemsOf({ ...keys, [variable]: String(schema.maxValue! + 1) })).toEqual([`${variable}: expected ${schema.format === 'safeint' ? 'an integer' : 'a number'} from ${schema.minValue} to ${schema.maxValue}, got "${schema.maxValue! + 1}"`]);
      expect(problemsOf({ ...keys, [variable]: String(schema.maxValue) })).toEqual([]);
    }
    expect(problemsOf({ ...keys, ROLE_ECHO_CONCURRENCY: '' })).toEqual([]);
    expect(problemsOf({ ...keys, ROLE_ECHO_CONCURRENCY: ' ' })).toHaveLength(1);
  });
});

describe('Redis Cluster and key layout', () => {
  it('reads REDIS_CLUSTER_NODES as seed nodes, IPv6 in brackets, and refuses what is not host:port', () => {
    expect(loadConfig({ ...keys, REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2:7001,[::1]:7002' }, { knownRoles }).redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(loadConfig(keys, { knownRoles }).redisClusterNodes).toBeUndefined();
    expect(problemsOf({ ...keys, REDIS_CLUSTER_NODES: '10.0.0.1:7000,nowhere,host:99999' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: entry 2 \("nowhere"\) is not host:port/),
      expect.stringMatching(/^REDIS_CLUSTER_NODES: entry 3 \("host:99999"\)/),
    ]);
  });

  it('refuses a QUEUE_PREFIX with braces: each role takes a hash tag of its own after it', () => {
    expect(problemsOf({ ...keys, QUEUE_PREFIX: '{taskyard}' })).toEqual([expect.stringMatching(/^QUEUE_PREFIX: .*no "\{\}"/)]);
  });
});

describe('REDIS_TLS_CA_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskyard-ca-'));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, pem);
  const notPem = join(dir, 'ca.der');
  writeFileSync(notPem, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
  const tls = { ...keys, REDIS_URL: 'rediss://redis.internal:6380' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is read once, into the config: the file's certificates, trusted for rediss://", () => {
    expect(loadConfig({ ...tls, REDIS_TLS_CA_FILE: caFile }, { knownRoles }).redisTlsCa).toBe(pem);
    expect(loadConfig(tls, { knownRoles }).redisTlsCa).toBeUndefined();
    expect(loadConfig({ ...tls, REDIS_TLS_CA_FILE: '' }, { knownRoles }).redisTlsCa).toBeUndefined();
  });

  it('names the variable when the file is missing, unreadable or holds no PEM certificate', () => {
    expect(problemsOf({ ...tls, REDIS_TLS_CA_FILE: join(dir, 'missing.crt') })).toEqual([
      expect.stringMatching(/^REDIS_TLS_CA_FILE: cannot read ".*missing\.crt" \(ENOENT/),
    ]);
    expect(problemsOf({ ...tls, REDIS_TLS_CA_FILE: dir })).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE: cannot read .*\(EISDIR/)]);
    expect(problemsOf({ ...tls, REDIS_TLS_CA_FILE: notPem })).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE: ".*ca\.der" holds no PEM certificate/)]);
  });

  it('is refused beside a redis:// URL, which would not use TLS at all', () => {
    expect(problemsOf({ ...keys, REDIS_URL: 'redis://redis.internal:6379', REDIS_TLS_CA_FILE: caFile })).toEqual([
      'REDIS_TLS_CA_FILE: set, but REDIS_URL is not a rediss:// URL, so no connection would use TLS; use rediss://',
    ]);
  });
});

describe('development keys', () => {
  it('are generated once into a private file and shared by every process that asks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskyard-keys-'));
    const first = withDevKeys({}, dir);
    const second = withDevKeys({}, dir);
    expect(first.env['API_KEYS']).toMatch(/^dev:.{16,}$/);
    expect(second.env).toEqual(first.env);
    expect(first.devKeysFile).toBe(join(dir, 'dev-keys.env'));
    expect(statSync(first.devKeysFile!).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.devKeysFile!, 'utf8')).toContain('SIGNING_KEYS=');
    expect(loadConfig(first.env, { knownRoles }).signingKeys).toHaveLength(1);
  });

  it('are never used in production', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskyard-keys-'));
    expect(withDevKeys({ NODE_ENV: 'production' }, dir)).toEqual({ env: { NODE_ENV: 'production' }, devKeysFile: undefined });
  });
});

describe('API_KEYS_FILE', () => {
  const write = (content: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), 'taskyard-keyfile-')), 'keys.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const signing = { SIGNING_KEYS: keys.SIGNING_KEYS };

  it('reads scoped keys with a secret or its SHA-256, a tenant and an expiry, beside API_KEYS', () => {
    const file = write([
      { id: 'ci', secret: 'ci-secret-0123456789abcdef', scopes: ['tasks:submit:echo', 'tasks:read'] },
      { id: 'acme', secretSha256: sha256Hex('acme-secret-0123456789'), scopes: ['tasks:submit', 'tasks:read'], tenant: 'acme', expiresAt: '2030-01-01T00:00:00Z' },
    ]);
    const config = loadConfig({ ...keys, API_KEYS_FILE: file }, { knownRoles });
    expect(config.apiKeysFile).toBe(file);
    expect(config.apiKeys.map((key) => key.id)).toEqual(['main', 'ci', 'acme']);
    expect(config.apiKeys[1]).toEqual({ id: 'ci', secretSha256: sha256Hex('ci-secret-0123456789abcdef'), scopes: ['tasks:submit:echo', 'tasks:read'], tenant: undefined, expiresAt: undefined });
    expect(config.apiKeys[2]).toMatchObject({ tenant: 'acme', expiresAt: Date.parse('2030-01-01T00:00:00Z'), secretSha256: sha256Hex('acme-secret-0123456789') });
    // A file key keeps no secret in memory; an API_KEYS (development) key has every scope.
    expect(config.apiKeys[1]).not.toHaveProperty('secret');
    expect(config.envApiKeys.map((key) => [key.id, key.scopes])).toEqual([['main', ['admin']]]);
    // The file alone is enough: no API_KEYS needed.
    expect(loadConfig({ ...signing, API_KEYS_FILE: file }, { knownRoles }).apiKeys).toHaveLength(2);
  });

  it('refuses a bad file, naming the entry and the field of each problem', () => {
    expect(problemsOf({ ...signing, API_KEYS_FILE: write('{ not json') })).toEqual([expect.stringMatching(/^API_KEYS_FILE: not valid JSON/)]);
    expect(problemsOf({ ...signing, API_KEYS_FILE: write({ id: 'a' }) })).toEqual([expect.stringMatching(/^API_KEYS_FILE: expected a JSON array/)]);
    expect(problemsOf({ ...signing, API_KEYS_FILE: join(tmpdir(), 'no-such-dir', 'keys.json') })).toEqual([expect.stringMatching(/^API_KEYS_FILE: cannot read .* \(ENOENT\)/)]);
    const problems = problemsOf({
      ...signing,
      API_KEYS_FILE: write([
        { id: 'ok', secret: 'ok-secret-0123456789abc', scopes: ['admin'] },
        { id: 'short', secret: 'short', scopes: ['admin'] },
        { id: 'both', secret: 'both-secret-0123456789', secretSha256: 'a'.repeat(64), scopes: ['admin'] },
        { id: 'scope', secret: 'scope-secret-0123456789', scopes: ['tasks:write'] },
        { id: 'when', secret: 'when-secret-0123456789', scopes: ['admin'], expiresAt: 'tomorrow' },
        { id: 'ok', secret: 'ok2-secret-0123456789abc', scopes: ['admin'] },
        { id: 'extra', secret: 'extra-secret-0123456789', scopes: ['admin'], role: 'x' },
      ]),
    });
    expect(problems).toEqual([
      expect.stringMatching(/^API_KEYS_FILE: entry 1 \("short"\): secret: at least 16 characters/),
      expect.stringMatching(/^API_KEYS_FILE: entry 2 \("both"\): secret: give exactly one of "secret" and "secretSha256"/),
      expect.stringMatching(/^API_KEYS_FILE: entry 3 \("scope"\): scopes.0: a scope is one of tasks:submit, tasks:read, tasks:cancel, dead-letters:manage, schedules:manage, dashboard:read, admin, or tasks:submit:<role>/),
      expect.stringMatching(/^API_KEYS_FILE: entry 4 \("when"\): expiresAt: /),
      expect.stringMatching(/^API_KEYS_FILE: entry 5 \("ok"\): id: appears twice/),
      expect.stringMatching(/^API_KEYS_FILE: entry 6 \("extra"\): Unrecognized key: "role"/),
    ]);
    // Keys are found by their secret: one secret for two keys is refused, in the file and against API_KEYS.
    expect(problemsOf({ ...signing, API_KEYS_FILE: write([{ id: 'a', secret: 'one-secret-0123456789', scopes: ['admin'] }, { id: 'b', secret: 'one-secret-0123456789', scopes: ['tasks:read'], tenant: 't' }]) })).toEqual([
      'API_KEYS_FILE: entry 1 ("b"): secret: the same secret as an earlier key',
    ]);
    expect(problemsOf({ ...keys, API_KEYS_FILE: write([{ id: 'other', secret: 'api-secret-0123456789', scopes: ['tasks:read'] }]) })).toEqual([
      'API_KEYS_FILE: key(s) other have the secret of an API_KEYS key',
    ]);
    expect(problemsOf({ ...keys, API_KEYS_FILE: write([{ id: 'main', secret: 'x-secret-0123456789abc', scopes: ['admin'] }]) })).toEqual([
      'API_KEYS_FILE: key id(s) main appear in both API_KEYS and API_KEYS_FILE',
    ]);
  });

  it('reads TRUST_PROXY as false, true or the proxies’ addresses and CIDRs, never a hop count', () => {
    expect(loadConfig(keys, { knownRoles }).trustProxy).toBe(false);
    expect(loadConfig({ ...keys, TRUST_PROXY: 'true' }, { knownRoles }).trustProxy).toBe(true);
    expect(loadConfig({ ...keys, TRUST_PROXY: '10.0.0.0/8, ::1,192.168.1.7' }, { knownRoles }).trustProxy).toEqual(['10.0.0.0/8', '::1', '192.168.1.7']);
    for (const bad of ['1', 'abc', '1.2.3.4/99', '::1/129', '10.0.0.0/8,proxy']) {
      expect(problemsOf({ ...keys, TRUST_PROXY: bad })).toEqual([expect.stringMatching(/^TRUST_PROXY: expected false, true or the proxies' IP addresses\/CIDRs/)]);
    }
  });

  it('bounds what the platform itself exposes: a metrics token of some length, docs that can be switched off', () => {
    expect(loadConfig({ ...keys, METRICS_TOKEN: 'a-metrics-token-of-length', DOCS_ENABLED: 'false' }, { knownRoles })).toMatchObject({ metricsToken: 'a-metrics-token-of-length', docsEnabled: false });
    expect(problemsOf({ ...keys, METRICS_TOKEN: 'short' })).toEqual([expect.stringMatching(/^METRICS_TOKEN: at least 16 characters/)]);
  });
});
