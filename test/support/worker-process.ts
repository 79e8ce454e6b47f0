import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait-for';

export const WORKER_MAIN = resolve(__dirname, '../../apps/workers/dist/main.js');

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/**
 * A worker as a separate OS process (`node apps/workers/dist/main.js`, built by `npm test`),
 * so crashes, signals and replicas are real. Its JSON log lines are collected for assertions.
 */
export class WorkerProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Lines on stdout that were not JSON (there should be none). */
  readonly nonJsonLines: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  metricsPort = 0;

  constructor(private readonly env: Record<string, string>) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and waits until its workers take jobs. */
  async start(): Promise<this> {
    this.launch();
    await this.waitUntilStarted();
    return this;
  }

  /**
   * Spawns the process without waiting for its workers (e.g. while Redis is still down); see
   * waitUntilListening() and waitUntilStarted().
   */
  launch(): this {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      // Info at least: start-up and stall lines are what tests wait for.
      env: { PATH: process.env['PATH'] ?? '', ...this.env, LOG_LEVEL: this.env['LOG_LEVEL'] === 'debug' ? 'debug' : 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.nonJsonLines.push(line);
        this.logs.push({ msg: line });
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    return this;
  }

  /** Waits until the metrics and health server listens (before the workers connect to Redis). */
  async waitUntilListening(timeoutMs = 30_000): Promise<number> {
    const listening = await this.waitForStartupLog('the worker to serve metrics and health', 'metrics and health server listening', timeoutMs);
    this.metricsPort = Number(listening['metricsPort'] ?? 0);
    return this.metricsPort;
  }

  /** Waits until the process's workers take jobs. */
  async waitUntilStarted(timeoutMs = 30_000): Promise<void> {
    await this.waitForStartupLog('the worker to start', 'workers started', timeoutMs);
    await this.waitUntilListening(timeoutMs);
  }

  private async waitForStartupLog(what: string, msg: string, timeoutMs: number): Promise<LogLine> {
    const child = this.child;
    if (!child) throw new Error('worker not launched');
    // Returning (not throwing) on exit: waitFor would retry a throw until its timeout.
    const found = await waitFor(what, () => this.logs.find((line) => line.msg === msg) ?? (child.exitCode !== null ? 'exited' : undefined), {
      timeoutMs,
    });
    if (found === 'exited') throw new Error(`worker exited early (${child.exitCode}): ${this.stderr.join('\n')}`);
    return found;
  }

  /** Waits for a log line matching `predicate`. */
  waitForLog(what: string, predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return waitFor(what, () => this.logs.find(predicate), { timeoutMs });
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Resolves with how the process ended. */
  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) throw new Error('worker not started');
    return this.exited;
  }

  /** SIGTERM and wait (SIGKILL after `timeoutMs`); safe when already gone. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return response.text();
  }

  /** GET on the process's health server (e.g. `/health/ready`); resolves with the status code. */
  async health(path: string): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`);
    await response.text();
    return response.status;
  }
}
