import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait-for';
import type { LogLine } from './worker-process';

export const API_MAIN = resolve(__dirname, '../../apps/api/dist/main.js');

/**
 * The API as its own OS process (`node apps/api/dist/main.js`, built by `npm test`), for what
 * only main.ts does: start-up checks, refusing to start, exit codes. ApiServer (in-process) is
 * the one for requests.
 */
export class ApiProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  constructor(private readonly env: Record<string, string>) {}

  launch(): this {
    const child = spawn(process.execPath, [API_MAIN], {
      env: { PATH: process.env['PATH'] ?? '', ...this.env, LOG_LEVEL: this.env['LOG_LEVEL'] === 'debug' ? 'debug' : 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ msg: line });
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    return this;
  }

  /** Waits until the API listens; resolves with its base URL (throws if it exited instead). */
  async waitUntilListening(timeoutMs = 30_000): Promise<string> {
    const child = this.child;
    if (!child) throw new Error('api not launched');
    const found = await waitFor(
      'the API to listen',
      () => this.logs.find((line) => /^Server listening at /.test(line.msg ?? '')) ?? (child.exitCode !== null ? 'exited' : undefined),
      { timeoutMs },
    );
    if (found === 'exited') throw new Error(`api exited early (${child.exitCode}): ${this.stderr.join('\n')}`);
    return found.msg!.replace('Server listening at ', '');
  }

  /** Waits for a log line matching `predicate`. */
  waitForLog(what: string, predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return waitFor(what, () => this.logs.find(predicate), { timeoutMs });
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) throw new Error('api not launched');
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
