/**
 * `npm start`: the whole platform on one machine, for a newcomer. Uses the Redis at REDIS_URL
 * when it answers, otherwise starts a private redis-server; builds; starts the API and
 * WORKER_REPLICAS workers; prints where everything is; stops it all cleanly on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, withDevKeys } from '@taskyard/config';
import { builtInRoles } from '@taskyard/example-roles';
import { loadRoleRegistry } from '@taskyard/roles';
import { clusterNodeCredentials, redisTlsOptions } from '@taskyard/store';
import { API_MAIN, buildApps, ROOT, WORKER_MAIN } from './lib/build';
import { clusterAnswers, hasRedisServer, INSTALL_REDIS_HINT, redisAnswers, startPrivateRedis } from './lib/local-redis';

const STATE_DIR = resolve(ROOT, '.taskyard');
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { env, devKeysFile } = withDevKeys(process.env, STATE_DIR);
  const config = loadConfig(env, { knownRoles: loadRoleRegistry(env, builtInRoles).names() });
  const children: { name: string; child: ChildProcess }[] = [];
  let redisChild: ChildProcess | undefined;

  // Signals are handled from here on, before the private Redis and the build: a Ctrl-C or a closed
  // terminal at any point stops what has been started so far.
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\ntaskyard: stopping (workers finish their active tasks first)…');
    await Promise.all(children.map(({ child }) => exitOf(child, 'SIGTERM', config.shutdownTimeoutMs + 2000)));
    if (redisChild) await exitOf(redisChild, 'SIGTERM', 10_000);
    say('taskyard: stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // A closed terminal (SIGHUP) stops everything too: the children run in groups of their own and
  // would not hear it. Its output has nowhere to go then, which must not end the launcher mid-drain.
  process.on('SIGHUP', () => void stop(0));
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // Outside the terminal's group, the children would outlive a launcher that dies some other way.
  process.on('exit', () => {
    for (const child of [...children.map((entry) => entry.child), redisChild]) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  });

  const clusterNodes = config.redisClusterNodes;
  if (clusterNodes) {
    // A cluster is the deployment's own: npm start uses it, and never starts one.
    const seeds = clusterNodes.map(({ host, port }) => `${host}:${port}`).join(',');
    if (!(await clusterAnswers(clusterNodes, clusterNodeCredentials(config.redisUrl, config.redisTlsCa)))) throw new Error(`the Redis Cluster at ${seeds} (REDIS_CLUSTER_NODES) does not answer or is not up; start it or fix the variable`);
    say(`taskyard: using the Redis Cluster at ${seeds}`);
  } else if (await redisAnswers(config.redisUrl, 1500, redisTlsOptions(config.redisUrl, config.redisTlsCa))) {
    say(`taskyard: using the Redis at ${shownUrl(config.redisUrl)}`);
  } else {
    const url = new URL(config.redisUrl);
    // A private redis-server speaks plain TCP: one at a rediss:// URL would not be the Redis meant.
    if (url.protocol === 'rediss:' || !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) {
      throw new Error(`the Redis at ${shownUrl(config.redisUrl)} does not answer; start it or change REDIS_URL`);
    }
    if (!hasRedisServer()) {
      process.stderr.write(`taskyard: no Redis answers at ${shownUrl(config.redisUrl)} and there is no redis-server binary.\n${INSTALL_REDIS_HINT}\n`);
      process.exit(1);
    }
    // One data directory per port: a second private Redis (another checkout's, a test's) never shares the first one's files.
    const dir = resolve(STATE_DIR, url.port === '' || url.port === '6379' ? 'redis' : `redis-${url.port}`);
    redisChild = await startPrivateRedis(Number(url.port || 6379), dir);
    say(`taskyard: no Redis answered at ${shownUrl(config.redisUrl)}, so I started a private redis-server there (data in ${dir}, AOF on)`);
  }

  if (stopping) return;
  buildApps();
  if (stopping) return;
  const childEnv = { ...env, LOG_PRETTY: env['LOG_PRETTY'] ?? 'true' };
  const launch = (name: string, main: string, extra: Record<string, string> = {}) => {
    // Its own process group (`detached`): Ctrl-C signals the terminal's foreground group, and a
    // process that got SIGINT from the terminal and then SIGTERM from stop() below would take the
    // second signal as "exit now" and cut its drain short. Only this launcher hears Ctrl-C.
    const child = spawn(process.execPath, [main], { cwd: ROOT, env: { ...childEnv, ...extra }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
    }
    child.on('exit', (code, signal) => {
      if (!stopping) {
        say(`taskyard: ${name} exited (${signal ?? code}); stopping everything`);
        void stop(1);
      }
    });
    children.push({ name, child });
  };

  launch('api', API_MAIN);
  for (let i = 1; i <= config.workerReplicas; i++) launch(`worker-${i}`, WORKER_MAIN);

  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  await waitForReady(`${base}/health/ready`);
  const apiKey = config.apiKeys[0];
  // Only a development key's secret is shown: a deployment's own secrets never reach a terminal (or its scrollback).
  const secret = devKeysFile && apiKey?.secret ? apiKey.secret : '<secret>';
  say();
  say('Taskyard is running.');
  say(`  API          ${base}/v1   (Authorization: Bearer <secret>)`);
  if (config.docsEnabled) say(`  API docs     ${base}/docs`);
  say(`  Bull Board   ${base}/admin/queues   (user = a key id, password = its secret; scope dashboard:read or admin)`);
  say(`  Metrics      ${base}/metrics${config.metricsToken ? '   (Authorization: Bearer <METRICS_TOKEN>)' : ''}`);
  say(`  Workers      ${config.workerReplicas} replicas, roles: ${config.roles.join(', ')}`);
  if (devKeysFile && apiKey?.secret) say(`  API key      ${apiKey.id}:${apiKey.secret}   (development key, from ${devKeysFile})`);
  say();
  say('Submit a task:');
  say(
    `  curl -s -X POST ${base}/v1/tasks -H 'authorization: Bearer ${secret}' -H 'content-type: application/json' \\\n` +
      `    -d '{"role":"echo","payload":{"message":"hello, taskyard"}}'`,
  );
  say(`then: curl -s ${base}/v1/tasks/<id> -H 'authorization: Bearer ${secret}'`);
  say('Press Ctrl-C to stop.');
  say();
}

/** A Redis URL as it may be shown: its password (an ACL user's, a managed Redis's) masked. */
function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function exitOf(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit();
    });
    child.kill(signal);
  });
}

async function waitForReady(url: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`the API did not become ready at ${url}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`taskyard: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
