import { resolve } from 'node:path';
import { NodeProcess, type LogLine } from './node-process';

export type { LogLine } from './node-process';

export const WORKER_MAIN = resolve(__dirname, '../../apps/workers/dist/main.js');

/**
 * A worker as a separate OS process (`node apps/workers/dist/main.js`, built by `npm test`),
 * so crashes, signals and replicas are real. Its JSON log lines are collected for assertions.
 */
export class WorkerProcess extends NodeProcess {
  metricsPort = 0;

  constructor(env: Record<string, string>) {
    super('worker', WORKER_MAIN, env);
  }

  /** Starts the process and waits until its workers take jobs. */
  async start(): Promise<this> {
    this.launch();
    await this.waitUntilStarted();
    return this;
  }

  /** Waits until the metrics and health server listens (before the workers connect to Redis). */
  async waitUntilListening(timeoutMs = 30_000): Promise<number> {
    const listening = await this.waitForStartupLine('the worker to serve metrics and health', isLine('metrics and health server listening'), timeoutMs);
    this.metricsPort = Number(listening['metricsPort'] ?? 0);
    return this.metricsPort;
  }

  /** Waits until the process's workers take jobs. */
  async waitUntilStarted(timeoutMs = 30_000): Promise<void> {
    await this.waitForStartupLine('the worker to start', isLine('workers started'), timeoutMs);
    await this.waitUntilListening(timeoutMs);
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

function isLine(msg: string): (line: LogLine) => boolean {
  return (line) => line.msg === msg;
}
