import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ROOT } from '../../lib/build';
import { until } from './free-port';

export interface LaunchOptions {
  /** A name for messages, e.g. `taskyard-api`. */
  name: string;
  /** The script and its arguments, after node's own flags. */
  args: string[];
  env: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Ready when this URL answers 2xx. */
  readyUrl?: string;
  /** Ready when the process prints this line on stdout. */
  readyLine?: string;
  readyTimeoutMs?: number;
}

const TAIL_LINES = 40;

/**
 * One OS process of the bench (a Taskyard API or worker, or a raw-BullMQ counterpart), started
 * with the same node binary as the bench. Its output is read (so pipes never fill) and the
 * last lines kept for error messages.
 */
export class BenchProcess {
  private readonly tail: string[] = [];
  private readonly lines: string[] = [];
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {}

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(options: LaunchOptions): Promise<BenchProcess> {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const handle = new BenchProcess(options.name, child);
    handle.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        handle.lines.push(line);
        if (handle.lines.length > 200) handle.lines.shift();
        handle.tail.push(line);
        if (handle.tail.length > TAIL_LINES) handle.tail.shift();
      });
    }
    // An early exit ends the wait at once, with the process's last words.
    const died = handle.exited.then(() => {
      throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}):\n${handle.tail.join('\n')}`);
    });
    died.catch(() => undefined);
    try {
      await Promise.race([
        died,
        until(`${options.name} to be ready`, async () => {
          if (options.readyLine && handle.lines.includes(options.readyLine)) return true;
          if (options.readyUrl) {
            const response = await fetch(options.readyUrl).catch(() => undefined);
            return response?.ok === true;
          }
          return false;
        }, options.readyTimeoutMs ?? 30_000),
      ]);
    } catch (err) {
      await handle.stop();
      throw err;
    }
    return handle;
  }

  /** Resident set size in bytes (Linux /proc; `ps` elsewhere). */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
      return kb ? Number(kb) * 1024 : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }

  /** The last lines the process wrote, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  /** SIGTERM (a graceful drain, which also writes a --cpu-prof profile), SIGKILL after `timeoutMs`. Safe twice. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every process (in parallel), ignoring the ones already gone. */
export async function stopAll(processes: readonly (BenchProcess | undefined)[]): Promise<void> {
  await Promise.all(processes.map((process) => process?.stop()));
}
