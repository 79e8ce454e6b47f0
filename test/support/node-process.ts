import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from './wait-for';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/**
 * One of the apps as a separate OS process (`node <main>` of its build), so crashes, signals and
 * start-up checks are real. Its JSON log lines are collected for assertions.
 */
export class NodeProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Lines on stdout that were not JSON (there should be none). */
  readonly nonJsonLines: string[] = [];
  protected child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  constructor(
    /** What the process is, for messages ("worker", "api"). */
    protected readonly what: string,
    private readonly main: string,
    protected readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the process without waiting for anything. */
  launch(): this {
    const child = spawn(process.execPath, [this.main], {
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

  /** Waits for the first log line matching `predicate`; throws if the process exits first. */
  protected async waitForStartupLine(what: string, predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const child = this.child;
    if (!child) throw new Error(`${this.what} not launched`);
    // Returning (not throwing) on exit: waitFor would retry a throw until its timeout.
    const found = await waitFor(what, () => this.logs.find(predicate) ?? (child.exitCode !== null ? 'exited' : undefined), { timeoutMs });
    if (found === 'exited') throw new Error(`${this.what} exited early (${child.exitCode}): ${this.stderr.join('\n')}`);
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
    if (!this.exited) throw new Error(`${this.what} not launched`);
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
}
