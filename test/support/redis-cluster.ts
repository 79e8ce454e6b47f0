import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnRedisServer, type RedisTlsFiles } from '../../scripts/lib/local-redis';
import { freePort } from './free-port';

export interface RedisClusterOptions {
  /** Every node requires it (requirepass, and masterauth between nodes). */
  password?: string;
  /**
   * Every node speaks only TLS, to clients and on the cluster bus, with these files (one
   * certificate for 127.0.0.1 fits them all).
   */
  tls?: RedisTlsFiles;
  /** Every node's users (`--aclfile`); it must give the default user `password`. */
  aclFile?: string;
}

/**
 * A Redis Cluster of `masters` loopback redis-servers on free ports (no replicas), that the test
 * harness owns: started with `--cluster-enabled yes`, joined with `redis-cli --cluster create`,
 * and ready once every node reports cluster_state:ok. Removed, data and all, on destroy().
 */
export class RedisCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'taskyard-cluster-'));
  readonly ports: number[] = [];
  private readonly nodes: ChildProcess[] = [];

  constructor(
    private readonly masters = 3,
    private readonly options: RedisClusterOptions = {},
  ) {}

  /** `host:port,...`: what REDIS_CLUSTER_NODES takes. */
  get seeds(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  async start(): Promise<this> {
    try {
      await this.create();
    } catch (err) {
      // Nothing else holds the nodes of a cluster that did not come up.
      await this.destroy();
      throw err;
    }
    return this;
  }

  private async create(): Promise<void> {
    for (let at = 0; at < this.masters; at++) {
      const port = await freePort();
      const dir = join(this.dir, String(port));
      this.ports.push(port);
      this.nodes.push(
        await spawnRedisServer({
          port,
          dir,
          appendfsync: 'off',
          password: this.options.password,
          tls: this.options.tls,
          extraArgs: [
            '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000',
            ...(this.options.tls ? ['--tls-cluster', 'yes'] : []),
            ...(this.options.aclFile ? ['--aclfile', this.options.aclFile] : []),
          ],
        }),
      );
    }
    const auth = this.options.password ? ['-a', this.options.password, '--no-auth-warning'] : [];
    const tls = this.options.tls ? ['--tls', '--cacert', this.options.tls.caFile] : [];
    const created = spawnSync('redis-cli', [...auth, ...tls, '--cluster', 'create', ...this.ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
    await this.untilReady();
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (node) =>
          new Promise<void>((done) => {
            if (node.exitCode !== null || node.signalCode !== null) return done();
            node.once('exit', () => done());
            node.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Every node agrees the cluster is up (slots assigned, nodes met). */
  private async untilReady(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(
        this.ports.map(async (port) => {
          const redis = new Redis(port, '127.0.0.1', {
            maxRetriesPerRequest: 1,
            lazyConnect: true,
            ...(this.options.password ? { password: this.options.password } : {}),
            ...(this.options.tls ? { tls: { ca: readFileSync(this.options.tls.caFile, 'utf8') } } : {}),
          });
          try {
            await redis.connect();
            return /cluster_state:ok/.test(await redis.cluster('INFO'));
          } catch {
            return false;
          } finally {
            redis.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not come up within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
