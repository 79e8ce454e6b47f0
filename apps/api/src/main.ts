import { resolve } from 'node:path';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, withDevKeys } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { createLogger } from '@taskyard/observability';
import { effectiveRoles, loadRoleRegistry } from '@taskyard/roles';
import { createRedisConnection, enforceRedisSafety } from '@taskyard/store';
import { buildApp } from './app';

/** config → buildApp → listen → drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const { env, devKeysFile } = withDevKeys(process.env, resolve('.taskyard'));
  const roles = loadRoleRegistry(env, builtInRoles);
  const config = loadConfig(env, { knownRoles: roles.names() });
  const logger = createLogger({ name: 'taskyard-api', level: config.logLevel, pretty: config.logPretty });
  if (devKeysFile) logger.warn({ file: devKeysFile }, 'using development keys (set API_KEYS and SIGNING_KEYS in production)');

  const redis = createRedisConnection(config, 'producer', { name: 'taskyard-api', commandTimeoutMs: config.redisTimeoutMs });
  let redisWasDown = false;
  redis.on('error', (err) => {
    if (!redisWasDown) logger.warn({ err }, 'redis connection lost; answering 503 until it returns');
    redisWasDown = true;
  });
  redis.on('ready', () => {
    if (redisWasDown) logger.info('redis connection restored');
    redisWasDown = false;
  });

  const app = await buildApp({ config, logger, redis, registry: effectiveRoles(config, roles) });
  closeWithGrace({ delay: config.shutdownTimeoutMs, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
    await redis.quit().catch(() => redis.disconnect());
    logger.flush();
  });

  if (config.requireSafeRedis) {
    // Refuse before taking a single request: wait (bounded) for Redis, then check its settings.
    logger.info({ waitMs: REQUIRE_SAFE_REDIS_WAIT_MS }, 'REQUIRE_SAFE_REDIS: checking the Redis settings before listening');
    await enforceRedisSafety(redis, { logger, requireSafe: true, readyWithinMs: REQUIRE_SAFE_REDIS_WAIT_MS });
  }
  await app.listen({ host: config.host, port: config.port });
  if (!config.requireSafeRedis) {
    // Not fatal: the API starts without Redis, answers 503 until it is there, and checks its
    // settings (warnings only) once it is.
    new Promise<void>((ready) => (redis.status === 'ready' ? ready() : redis.once('ready', () => ready())))
      .then(() => enforceRedisSafety(redis, { logger, requireSafe: false }))
      .catch((err: unknown) => logger.warn({ err }, 'could not check the redis settings'));
  }
}

/** With REQUIRE_SAFE_REDIS, how long the API waits for Redis before refusing to start. */
const REQUIRE_SAFE_REDIS_WAIT_MS = 30_000;

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`taskyard-api: ${err.message}\n`);
  } else {
    process.stderr.write(`taskyard-api: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
