import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { buildApp } from '../../apps/api/src/app';
import { loadConfig, type TaskyardConfig } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { createLogger } from '@taskyard/observability';
import { effectiveRoles, loadRoleRegistry } from '@taskyard/roles';
import { createRedisConnection, waitForRedis, type RedisClient } from '@taskyard/store';
import { TEST_API_KEY } from './test-env';

export interface ApiServerOptions {
  /** Adds routes to the built app before it listens (e.g. one that throws, to see a 500). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
}

/** A real API listening on a free port, in this process, with its own producer connection. */
export class ApiServer {
  app!: FastifyInstance;
  redis!: RedisClient;
  config!: TaskyardConfig;
  baseUrl = '';
  readonly logs: Record<string, unknown>[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly options: ApiServerOptions = {},
  ) {}

  async start(): Promise<this> {
    const roles = loadRoleRegistry(this.env, builtInRoles);
    this.config = loadConfig(this.env, { knownRoles: roles.names() });
    const logs = this.logs;
    const logger = createLogger({
      name: 'taskyard-api',
      level: this.config.logLevel,
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      }),
    });
    this.redis = createRedisConnection(this.config, 'producer', {
      name: 'taskyard-api-test',
      commandTimeoutMs: this.config.redisTimeoutMs,
    });
    this.redis.on('error', () => undefined);
    await waitForRedis(this.redis, 10_000);
    this.app = await buildApp({ config: this.config, logger, redis: this.redis, registry: effectiveRoles(this.config, roles) });
    await this.options.extraRoutes?.(this.app);
    this.baseUrl = await this.app.listen({ host: '127.0.0.1', port: 0 });
    return this;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.redis?.disconnect();
  }

  /** fetch against the API with the test key (pass `auth: false` to send none). */
  async request(
    method: string,
    path: string,
    { body, auth = true, headers = {} }: { body?: unknown; auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Headers; body: any; text: string }> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(auth ? { authorization: `Bearer ${TEST_API_KEY.secret}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  /** Submits one task and returns its id (asserting the 202). */
  async submit(role: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<string> {
    const response = await this.request('POST', '/v1/tasks', { body: { role, payload, ...extra } });
    if (response.status !== 202) throw new Error(`submit failed: ${response.status} ${response.text}`);
    return (response.body as { id: string }).id;
  }

  async task(id: string): Promise<any> {
    const response = await this.request('GET', `/v1/tasks/${id}`);
    return response.status === 200 ? response.body : undefined;
  }
}
