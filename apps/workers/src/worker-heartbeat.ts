import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { WorkerEntry } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AnyRole } from '@taskyard/roles';
import { isRedisUnavailableError, type RedisClient, type WorkerRegistry } from '@taskyard/store';
import type { TaskyardWorker } from './bullmq-worker';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's own version, read once
const VERSION = (require('../package.json') as { version: string }).version;

/**
 * This process in the worker registry: it joins when its workers start, heartbeats every
 * WORKER_HEARTBEAT_MS with what it runs and has done, and leaves when it stops. At each beat it
 * also prunes the entries of workers past their deadline (a SIGKILL, a lost host); the registry's
 * registry logs their departure.
 */
export class WorkerHeartbeat {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  private processed = 0;
  private failed = 0;
  private known = new Set<string>();
  private beating = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly registry: WorkerRegistry,
    private readonly roles: readonly AnyRole[],
    private readonly workers: readonly TaskyardWorker[],
    private readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {
    for (const worker of workers) {
      worker.on('completed', () => this.processed++);
      worker.on('failed', () => this.failed++);
    }
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    await this.beat();
    // Stopped while it joined (a shutdown during start-up): leave again, start no timer.
    if (this.stopped) return void (await this.registry.leave(this.id).catch(() => undefined));
    this.log.info({ workerId: this.id, roles: this.roles.map((role) => role.name) }, 'joined the worker registry');
    this.timer = setInterval(() => this.tick(), this.heartbeatMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Bounded: a worker whose Redis is gone still exits (its entry then expires).
    await Promise.race([this.registry.leave(this.id).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    this.log.info({ workerId: this.id }, 'left the worker registry');
  }

  /** One beat at a time, and none while Redis is away: a backlog of old beats replayed later would prune the living. */
  private tick(): void {
    if (this.beating || this.redis.status !== 'ready') return;
    this.beating = true;
    void this.beat()
      .catch((err: unknown) => this.log[isRedisUnavailableError(err) ? 'debug' : 'warn']({ err }, 'heartbeat failed'))
      .finally(() => (this.beating = false));
  }

  private entry(): WorkerEntry {
    const roles = this.roles.map((role) => ({ name: role.name, concurrency: role.batch ? role.concurrency * role.batch.size : role.concurrency }));
    return {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      roles,
      concurrency: roles.reduce((sum, role) => sum + role.concurrency, 0),
      version: VERSION,
      startedAt: this.startedAt,
      lastSeenAt: new Date().toISOString(),
      active: this.workers.reduce((sum, worker) => sum + worker.activeJobIds().length, 0),
      processed: this.processed,
      failed: this.failed,
    };
  }

  private async beat(): Promise<void> {
    await this.registry.beat(this.entry());
    // Departures are logged by the registry; another's join once, at debug (its own line is info).
    const { workers } = await this.registry.live();
    const now = new Set(workers.map((worker) => worker.id));
    for (const id of now) if (!this.known.has(id) && id !== this.id && this.known.size > 0) this.log.debug({ workerId: id }, 'a worker joined the registry');
    this.known = now;
  }
}
