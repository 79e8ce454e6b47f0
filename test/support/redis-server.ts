import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer, type RedisTlsFiles } from '../../scripts/lib/local-redis';
import { freePort } from './free-port';

export { hasRedisServer } from '../../scripts/lib/local-redis';

export interface RedisServerOptions {
  /** AOF fsync policy, or 'off' for no persistence at all. */
  appendfsync?: 'always' | 'everysec' | 'off';
  maxmemory?: string;
  maxmemoryPolicy?: string;
  port?: number;
  /** TLS only (no plain port), with these files (see makeTestCertificates): `url` is then `rediss://`. */
  tls?: RedisTlsFiles;
  /** Users from this ACL file (`--aclfile`); it must give the default user `password`. */
  aclFile?: string;
  /** The default user's password (requirepass): `url` has none, the test logs in as it means to. */
  password?: string;
}

/**
 * A private redis-server on a free port that the test owns: it can be killed, restarted on the
 * same port with the same data directory, and is removed on stop().
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'taskyard-redis-'));
  port = 0;

  constructor(private readonly options: RedisServerOptions = {}) {}

  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port ||= this.options.port ?? (await freePort());
    const { appendfsync = 'off', maxmemory, maxmemoryPolicy, tls, aclFile, password } = this.options;
    const extraArgs = aclFile ? ['--aclfile', aclFile] : [];
    this.child = await spawnRedisServer({ port: this.port, dir: this.dir, appendfsync, maxmemory, maxmemoryPolicy, tls, password, extraArgs });
    return this;
  }

  /** SIGKILL: no shutdown save, like a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM: a clean shutdown. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}
