import { resolve } from 'node:path';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, withDevKeys } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { createLogger } from '@taskyard/observability';
import { effectiveRoles, loadRoleRegistry } from '@taskyard/roles';
import { HealthServer } from './health-server';
import { WorkerRuntime } from './worker-runtime';

/** config → start the roles in ROLES → serve health and metrics → drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const { env, devKeysFile } = withDevKeys(process.env, resolve('.taskyard'));
  const roles = loadRoleRegistry(env, builtInRoles);
  const config = loadConfig(env, { knownRoles: roles.names() });
  const logger = createLogger({ name: 'taskyard-worker', level: config.logLevel, pretty: config.logPretty });
  if (devKeysFile) logger.warn({ file: devKeysFile }, 'using development keys (set API_KEYS and SIGNING_KEYS in production)');

  // A drain broadcast shuts down exactly as SIGTERM does (close-with-grace's own close).
  const shutdown: { close?: () => void } = {};
  const runtime = new WorkerRuntime({ config, logger, registry: effectiveRoles(config, roles), onDrain: () => shutdown.close?.() });
  const health = new HealthServer({
    host: config.host,
    port: config.metricsPort,
    registry: runtime.metrics.registry,
    metricsToken: config.metricsToken,
    isReady: () => runtime.isReady(),
  });

  shutdown.close = closeWithGrace({ delay: config.shutdownTimeoutMs, logger }, async ({ signal, err, manual }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info(manual ? { drain: true } : { signal }, 'shutting down: finishing active tasks');
    await runtime.close();
    await health.close();
    logger.info('worker stopped');
    logger.flush();
  }).close;

  const port = await health.listen();
  logger.info({ metricsPort: port, url: `http://${config.host}:${port}/metrics` }, 'metrics and health server listening');
  await runtime.start();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`taskyard-worker: ${err.message}\n`);
  } else {
    process.stderr.write(`taskyard-worker: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
