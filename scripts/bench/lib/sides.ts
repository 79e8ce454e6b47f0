import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { ROOT } from '../../lib/build';
import { freePort } from './free-port';
import { BenchProcess } from './launcher';
import { loadBuild, type BuildLib } from './taskyard-build';

export type SideName = 'taskyard' | 'raw';

/** How long finished tasks are kept (Taskyard's TASK_RETENTION_*; the same removeOn* options for raw). */
export interface Retention {
  ageSeconds: number;
  count: number;
  /**
   * Taskyard also keeps a completed message in its effects ledger for the role's retry window
   * (timeout, lock and stall check per attempt). The soak shortens those windows so the run can
   * watch that memory come back too.
   */
  shortWindows?: boolean;
}

/** Role timeout, lock and stall interval of a `shortWindows` run. */
const SHORT_WINDOW_MS = 2000;

/** Long enough for every scenario but the soak to read its finished jobs back. */
export const KEEP_ALL: Retention = { ageSeconds: 3600, count: 1_000_000 };

export const ECHO = 'echo';
export const ECHO_PAYLOAD = { message: 'hello, taskyard' };
/** The echo role's own concurrency: what a worker runs when the scenario does not set one. */
const ECHO_CONCURRENCY = 50;

export interface ApiHandle {
  process: BenchProcess;
  /** POST one task here (body `{ role, payload }`). */
  submitUrl: string;
  /** POST `{ tasks: [...] }` here. */
  batchUrl: string;
  headers: Record<string, string>;
}

export interface StartOptions {
  retention?: Retention;
  /** Variables of this process only (e.g. another REDIS_URL, ROLE_MODULES). */
  extraEnv?: Record<string, string>;
  /** Run under `node --cpu-prof`, writing the profile into this directory on exit. */
  profileDir?: string | undefined;
}

/**
 * One side of a comparison: Taskyard's real processes, or their raw-BullMQ counterparts. Both
 * take the same `{ role, payload }` bodies, use the same job options and the same Redis, each
 * under its own key prefix.
 */
export interface Side {
  readonly name: SideName;
  readonly prefix: string;
  /** The BullMQ prefix of the echo queue on this side (its name is `echo`). */
  readonly queuePrefix: string;
  startApi(options?: StartOptions): Promise<ApiHandle>;
  startWorker(options: StartOptions & { concurrency?: number }): Promise<BenchProcess>;
  /** Adds `count` echo jobs straight to Redis, exactly as this side's API would have enqueued them. */
  enqueue(redis: Redis, count: number, retention?: Retention): Promise<void>;
  /** The job options this side gives an echo task (a producer adding directly uses them too). */
  jobOptions(retention?: Retention): JobsOptions;
  /** How long this side keeps anything of a finished echo task beyond the retention (0: nothing). */
  keepsBeyondRetentionMs(retention: Retention): number;
}

const RAW_API = resolve(ROOT, 'scripts/bench/raw/raw-api.ts');
const RAW_WORKER = resolve(ROOT, 'scripts/bench/raw/raw-worker.ts');
const ENQUEUE_CHUNK = 1000;

const profileFlags = (dir: string | undefined) => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);

export class TaskyardSide implements Side {
  readonly name = 'taskyard' as const;
  readonly prefix = 'bench-ty';
  /** Fresh keys for each run: nothing here is a real secret. */
  readonly apiKey = { id: 'bench', secret: randomBytes(24).toString('base64url') };
  readonly signingKey = { id: 'bench-1', secret: randomBytes(24).toString('base64url') };
  private readonly apiMain: string;
  private readonly workerMain: string;
  readonly queuePrefix: string;
  private readonly lib: BuildLib;
  private readonly signer: ReturnType<BuildLib['signer']>;

  /** `root`: the checkout whose build (apps/*\/dist, libs/*\/dist) is measured; this one by default. */
  constructor(
    private readonly redisUrl: string,
    /** The checkout whose build is measured. */
    readonly root: string = ROOT,
  ) {
    this.apiMain = resolve(root, 'apps/api/dist/main.js');
    this.workerMain = resolve(root, 'apps/workers/dist/main.js');
    this.lib = loadBuild(root);
    this.signer = this.lib.signer([this.signingKey]);
    this.queuePrefix = this.lib.queuePrefix(this.prefix, ECHO);
  }

  env(retention: Retention = KEEP_ALL, extra: Record<string, string> = {}): Record<string, string> {
    return {
      NODE_ENV: 'production',
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      API_KEYS: `${this.apiKey.id}:${this.apiKey.secret}`,
      SIGNING_KEYS: `${this.signingKey.id}:${this.signingKey.secret}`,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      TASK_RETENTION_SECONDS: String(retention.ageSeconds),
      TASK_RETENTION_COUNT: String(retention.count),
      ...(retention.shortWindows
        ? {
            ROLE_ECHO_TIMEOUT_MS: String(SHORT_WINDOW_MS),
            WORKER_LOCK_DURATION_MS: String(SHORT_WINDOW_MS),
            WORKER_STALLED_INTERVAL_MS: String(SHORT_WINDOW_MS),
          }
        : {}),
      ...extra,
    };
  }

  keepsBeyondRetentionMs(retention: Retention): number {
    // An older checkout (--taskyard-root) may have no ledger.
    const { ledgerTimings, echoRole } = this.lib;
    if (!ledgerTimings) return 0;
    const windowMs = retention.shortWindows ? SHORT_WINDOW_MS : undefined;
    const role = { ...echoRole, timeoutMs: windowMs ?? echoRole.timeoutMs };
    const worker = { lockDurationMs: windowMs ?? 30_000, stalledIntervalMs: windowMs ?? 30_000 };
    // The deployment's record lifetimes cap the ledger's TTL (maxRecordTtlMs): the bench's own, and the defaults.
    const ledgerTtlMs = ledgerTimings(role, echoRole.attempts, { worker, retention, deadLetterTtlMs: 7 * 86_400_000, idempotencyTtlMs: 86_400_000 }).ttlMs;
    // And the search index's sweep its moment to take out the last tasks retention removed.
    return Math.max(ledgerTtlMs, this.lib.indexSettleMs);
  }

  async startApi({ retention, profileDir, extraEnv = {} }: StartOptions = {}): Promise<ApiHandle> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const process = await BenchProcess.start({
      name: 'taskyard-api',
      args: [this.apiMain],
      nodeFlags: profileFlags(profileDir),
      env: this.env(retention, { PORT: String(port), ...extraEnv }),
      readyUrl: `${base}/health/ready`,
    });
    return {
      process,
      submitUrl: `${base}/v1/tasks`,
      batchUrl: `${base}/v1/tasks/batch`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey.secret}` },
    };
  }

  async startWorker({ retention, profileDir, concurrency, extraEnv = {} }: StartOptions & { concurrency?: number }): Promise<BenchProcess> {
    const metricsPort = await freePort();
    return BenchProcess.start({
      name: 'taskyard-worker',
      args: [this.workerMain],
      nodeFlags: profileFlags(profileDir),
      // The role's concurrency comes from the deployment override ROLE_ECHO_CONCURRENCY.
      env: this.env(retention, {
        ROLES: ECHO,
        METRICS_PORT: String(metricsPort),
        ...(concurrency ? { ROLE_ECHO_CONCURRENCY: String(concurrency) } : {}),
        ...extraEnv,
      }),
      readyUrl: `http://127.0.0.1:${metricsPort}/health/ready`,
    });
  }

  jobOptions(retention: Retention = KEEP_ALL): JobsOptions {
    return this.lib.jobOptionsFor(this.lib.echoRole, 'unused', retention);
  }

  async enqueue(redis: Redis, count: number, retention: Retention = KEEP_ALL): Promise<void> {
    await this.enqueueFor(redis, this.lib.echoRole, count, () => ECHO_PAYLOAD, retention);
  }

  /** The BullMQ prefix of `role`'s queue. */
  queuePrefixOf(role: string): string {
    return this.lib.queuePrefix(this.prefix, role);
  }

  /** Adds `count` signed tasks of `role` (a definition) straight to Redis, as the API would have. */
  async enqueueFor(redis: Redis, role: { name: string }, count: number, payload: (index: number) => unknown, retention: Retention = KEEP_ALL): Promise<void> {
    const queue = new Queue(role.name, { connection: redis, prefix: this.queuePrefixOf(role.name) });
    try {
      for (let done = 0; done < count; done += ENQUEUE_CHUNK) {
        const jobs = Array.from({ length: Math.min(ENQUEUE_CHUNK, count - done) }, (_, at) => {
          // What the API's submitter does for each task (the same lib build).
          const message = this.lib.createMessage({ role: role.name, payload: payload(done + at), source: `api:${this.apiKey.id}` }, this.signer);
          return { name: role.name, data: message, opts: this.lib.jobOptionsFor(role, message.id, retention) };
        });
        await queue.addBulk(jobs);
      }
    } finally {
      await queue.close();
    }
  }
}

export class RawSide implements Side {
  readonly name = 'raw' as const;
  readonly prefix = 'bench-rw';
  readonly queuePrefix = 'bench-rw';

  constructor(
    private readonly redisUrl: string,
    private readonly taskyard: TaskyardSide,
  ) {}

  /**
   * Taskyard's options for an echo task, less the job id (raw jobs get BullMQ's own ids), with
   * BullMQ's built-in exponential backoff for Taskyard's (the same delays; a raw worker has no
   * Taskyard strategy to register).
   */
  jobOptions(retention: Retention = KEEP_ALL): JobsOptions {
    const { jobId: _jobId, backoff, ...options } = this.taskyard.jobOptions(retention);
    const { delay, jitter } = (backoff ?? {}) as { delay?: number; jitter?: number };
    return { ...options, backoff: { type: 'exponential', delay: delay ?? 0, jitter: jitter ?? 0 } };
  }

  keepsBeyondRetentionMs(): number {
    return 0;
  }

  async startApi({ retention, profileDir }: StartOptions = {}): Promise<ApiHandle> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const process = await BenchProcess.start({
      name: 'raw-api',
      args: [RAW_API],
      nodeFlags: ['--import', 'tsx', ...profileFlags(profileDir)],
      env: { REDIS_URL: this.redisUrl, QUEUE_PREFIX: this.prefix, PORT: String(port), JOB_OPTIONS: JSON.stringify(this.jobOptions(retention)) },
      readyLine: 'ready',
    });
    return { process, submitUrl: `${base}/tasks`, batchUrl: `${base}/tasks/batch`, headers: { 'content-type': 'application/json' } };
  }

  async startWorker({ profileDir, concurrency }: StartOptions & { concurrency?: number }): Promise<BenchProcess> {
    return BenchProcess.start({
      name: 'raw-worker',
      args: [RAW_WORKER],
      nodeFlags: ['--import', 'tsx', ...profileFlags(profileDir)],
      // Echo's own concurrency when none is given, as a Taskyard worker would use.
      env: { REDIS_URL: this.redisUrl, QUEUE_PREFIX: this.prefix, QUEUE: ECHO, CONCURRENCY: String(concurrency ?? ECHO_CONCURRENCY) },
      readyLine: 'ready',
    });
  }

  async enqueue(redis: Redis, count: number, retention: Retention = KEEP_ALL): Promise<void> {
    const queue = new Queue(ECHO, { connection: redis, prefix: this.prefix });
    const opts = this.jobOptions(retention);
    try {
      for (let done = 0; done < count; done += ENQUEUE_CHUNK) {
        const jobs = Array.from({ length: Math.min(ENQUEUE_CHUNK, count - done) }, () => ({ name: ECHO, data: ECHO_PAYLOAD, opts }));
        await queue.addBulk(jobs);
      }
    } finally {
      await queue.close();
    }
  }
}
