import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TransientTaskError } from '@taskyard/contracts';
import type { TaskContext } from '@taskyard/roles';
import { rebuildError, serializeError, type ChildInit, type ChildMessage, type ParentMessage, type RunRequest } from './protocol';

/** The compiled child entry next to this file (worker processes always run dist/). */
const CHILD_ENTRY = resolve(__dirname, 'child.js');

/** The attempt failed because its child process ended before answering; retrying may work. */
export class IsolatedChildCrashedError extends TransientTaskError {
  constructor(
    role: string,
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
  ) {
    super(`the isolated process of role "${role}" exited during the task (${exitSignal ?? `code ${exitCode}`})`, 'ISOLATED_CRASHED');
  }
}

interface ActiveTask {
  ctx: TaskContext;
  runId: number;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * One forked child process running one role's handler, one task at a time. It answers the
 * child's context calls (progress, send) with the attempt's real context, and turns the
 * child's exit during a task into an ISOLATED_CRASHED failure.
 */
export class IsolatedChild {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private task: ActiveTask | undefined;
  private gone = false;

  constructor(
    private readonly init: ChildInit,
    /** Called when the child exits while no task runs in it, so its pool can forget it. */
    private readonly onIdleExit: (child: IsolatedChild, code: number | null, signal: NodeJS.Signals | null) => void,
  ) {
    this.child = fork(CHILD_ENTRY, [], {
      env: childEnv(),
      // stdout and stderr are the worker's: the handler's log lines join the worker's stream.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    liveChildren.add(this.child);
    this.child.on('message', (message: ChildMessage) => this.onMessage(message));
    // A failed spawn or a write to a dead channel; the exit (if any) settles the task.
    this.child.on('error', () => this.kill(new IsolatedChildCrashedError(init.role, null, null)));
    this.exited = new Promise((resolveExit) =>
      this.child.once('exit', (code, signal) => {
        this.onExit(code, signal);
        resolveExit();
      }),
    );
    this.send(init);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the child exited or was killed: it must not be given another task. */
  get alive(): boolean {
    return !this.gone;
  }

  run(request: RunRequest, ctx: TaskContext): Promise<unknown> {
    return new Promise((resolveRun, rejectRun) => {
      this.task = { ctx, runId: request.runId, resolve: resolveRun, reject: rejectRun };
      this.send(request);
    });
  }

  /**
   * SIGKILL, and the running task (if any) fails with `reason`. Nothing gentler is sure to work:
   * the handler may be blocking its event loop.
   */
  kill(reason: unknown): void {
    this.gone = true;
    this.child.kill('SIGKILL');
    this.settle((task) => task.reject(reason));
  }

  /** Closes the channel, on which an idle child exits by itself; SIGKILL after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.gone = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private send(message: ParentMessage): void {
    if (!this.child.connected) return;
    this.child.send(message, (err) => {
      if (err) this.kill(new IsolatedChildCrashedError(this.init.role, null, null));
    });
  }

  private settle(outcome: (task: ActiveTask) => void): void {
    const task = this.task;
    this.task = undefined;
    if (task) outcome(task);
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'done') {
      this.settle((task) => (message.ok ? task.resolve(message.value) : task.reject(rebuildError(message.error))));
      return;
    }
    // A call from work a handler left running after it answered must not act on the task this
    // process runs now: it belongs to an attempt that is over.
    const ctx = this.task?.runId === message.runId ? this.task.ctx : undefined;
    const result = !ctx
      ? Promise.reject(new Error('no task is running in this process any more'))
      : message.method === 'progress'
        ? ctx.progress(...message.args)
        : message.method === 'send'
          ? ctx.send(...message.args)
          : message.method === 'children'
            ? ctx.children(...message.args)
            : ctx.publish(...message.args);
    result.then(
      (value: unknown) => this.send({ type: 'reply', callId: message.callId, ok: true, value }),
      (err: unknown) => this.send({ type: 'reply', callId: message.callId, ok: false, error: serializeError(err) }),
    );
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    liveChildren.delete(this.child);
    const wasGone = this.gone;
    this.gone = true;
    if (this.task) this.settle((task) => task.reject(new IsolatedChildCrashedError(this.init.role, code, signal)));
    else if (!wasGone) this.onIdleExit(this, code, signal);
  }
}

/** Keys only the worker needs: follow-up tasks are signed by the worker, never by handler code. */
const WORKER_ONLY_VARIABLES = ['API_KEYS', 'SIGNING_KEYS'];

/**
 * The worker's environment (role modules may read variables of their own) without its keys.
 * Everything the child needs from the configuration comes in its init message.
 */
function childEnv(): NodeJS.ProcessEnv {
  // eslint-disable-next-line no-restricted-properties -- passed on to the child, not read as configuration
  const env = { ...process.env };
  for (const name of WORKER_ONLY_VARIABLES) delete env[name];
  return env;
}

/**
 * Children still running when the worker exits (a shutdown past its deadline, a fatal error) are
 * killed on the way out, so none is left behind blocking a CPU. (A SIGKILLed worker cannot do
 * this; its children exit when they notice the closed channel, unless their event loop is blocked.)
 */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});
