import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { WorkerEntry } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AnyRole } from '@taskyard/roles';
import { isRedisUnavailableError, type WorkerRegistry } from '@taskyard/store';
import type { TaskyardWorker } from './bullmq-worker';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's own version, read once
const VERSION = (require('../package.json') as { version: string }).version;

/**
 * This process in the worker registry: it joins when its workers start, heartbeats every
 * WORKER_HEARTBEAT_MS with what it runs and has done, and leaves when it stops. At each beat it
 * also prunes the entries of workers silent for three heartbeats (a SIGKILL, a lost host) and
 * logs their departure.
 */
export class WorkerHeartbeat {
  readonly id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  private processed = 0;
  private failed = 0;
  private known = new Set<string>();

  constructor(
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
    await this.beat();
    this.log.info({ workerId: this.id, roles: this.roles.map((role) => role.name) }, 'joined the worker registry');
    this.timer = setInterval(() => void this.beat().catch((err: unknown) => this.log[isRedisUnavailableError(err) ? 'debug' : 'warn']({ err }, 'heartbeat failed')), this.heartbeatMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.registry.leave(this.id).catch(() => undefined);
    this.log.info({ workerId: this.id }, 'left the worker registry');
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
    const { workers, departed } = await this.registry.live();
    for (const id of departed) this.log.warn({ workerId: id, silentForMs: this.registry.expiryMs }, 'a worker left the registry: silent for three heartbeats');
    const now = new Set(workers.map((worker) => worker.id));
    for (const id of now) if (!this.known.has(id) && id !== this.id && this.known.size > 0) this.log.info({ workerId: id }, 'a worker joined the registry');
    this.known = now;
  }
}
