import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';

// No Docker engine runs here, so the deployment files are checked by reading them: they must parse,
// keep Redis safe for queues, and configure the apps with variables the config loader accepts.
const root = resolve(__dirname, '../..');
const compose = parse(readFileSync(resolve(root, 'infra/docker-compose.yml'), 'utf8'), { merge: true }) as any;
const dockerfile = readFileSync(resolve(root, 'infra/Dockerfile'), 'utf8');

describe('infra/docker-compose.yml', () => {
  it('runs Redis with AOF and noeviction, on a volume', () => {
    const command: string[] = compose.services.redis.command;
    expect(command.join(' ')).toMatch(/--appendonly yes/);
    expect(command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(compose.services.redis.volumes[0]).toMatch(/:\/data$/);
  });

  it('runs the API and replicated workers from one image, with health checks and a drain period', () => {
    const { api, worker } = compose.services;
    expect(api.command).toEqual(['node', 'apps/api/dist/main.js']);
    expect(worker.command).toEqual(['node', 'apps/workers/dist/main.js']);
    expect(worker.image).toBe(api.image);
    expect(worker.deploy.replicas).toBeGreaterThanOrEqual(2);
    for (const service of [api, worker]) {
      expect(service.healthcheck.test.join(' ')).toMatch(/\/health\/ready/);
      expect(parseInt(service.stop_grace_period, 10)).toBeGreaterThan(30);
    }
  });

  it('gives each app an environment the config loader accepts', () => {
    for (const name of ['api', 'worker']) {
      // Compose fills `${VAR:-default}` from the shell or infra/.env; take the defaults.
      const env: Record<string, string> = Object.fromEntries(
        Object.entries(compose.services[name].environment as Record<string, string>).map(([key, value]) => [
          key,
          String(value).replace(/^\$\{\w+:-([^}]*)\}$/, '$1'),
        ]),
      );
      // Compose substitutes these from infra/.env; stand in valid values.
      env['API_KEYS'] = 'main:0123456789abcdef0123';
      env['SIGNING_KEYS'] = 'k1:0123456789abcdef0123';
      const config = loadConfig(env, { knownRoles: builtInRoles.names() });
      expect(config.env).toBe('production');
      expect(config.redisUrl).toBe('redis://redis:6379');
      // Its Redis is configured safely, so the apps may insist on it; clients are limited per key.
      expect(config.requireSafeRedis).toBe(true);
      expect(config.rateLimitPerMinute).toBeGreaterThan(0);
    }
    expect(compose.services.api.environment.API_KEYS).toMatch(/^\$\{API_KEYS:\?/);
  });
});

describe('infra/Dockerfile', () => {
  it('builds both apps and runs as an unprivileged user on Node 20', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/tsc -b apps\/api apps\/workers/);
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const path of ['apps/api/dist', 'apps/workers/dist']) expect(dockerfile).toContain(path);
    // Every lib is installed (its package.json before npm ci) and shipped (dist/, and the store's Lua scripts).
    for (const lib of readdirSync(resolve(root, 'libs'))) expect(dockerfile).toContain(`COPY libs/${lib}/package.json libs/${lib}/`);
    expect(dockerfile).toContain('COPY --from=build /app/libs libs');
  });
});
