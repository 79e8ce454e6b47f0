import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { buildApp } from '../../apps/api/src/app';
import { loadConfig, type TaskyardConfig } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { createLogger } from '@taskyard/observability';
import { effectiveRoles, loadRoleRegistry } from '@taskyard/roles';
import { createRedisConnection, waitForRedis, type RedisClient } from '@taskyard/store';
import { ApiClient } from './api-client';

export interface ApiServerOptions {
  /** Adds routes to the built app before it listens (e.g. one that throws, to see a 500). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
}

/** A real API listening on a free port, in this process, with its own producer connection. */
export class ApiServer extends ApiClient {
  app!: FastifyInstance;
  redis!: RedisClient;
  config!: TaskyardConfig;
  readonly logs: Record<string, unknown>[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly options: ApiServerOptions = {},
  ) {
    super();
  }

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
}
