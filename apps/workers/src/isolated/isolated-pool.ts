import type { TaskyardConfig } from '@taskyard/config';
import { TaskTimeoutError, type TaskMessage } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AnyRole, TaskContext } from '@taskyard/roles';
import { ledgerTimings } from '@taskyard/store';
import { IsolatedChild, IsolatedChildCrashedError } from './isolated-child';
import type { ChildInit } from './protocol';

/** Why a child was lost mid-task: killed at the timeout, killed because its attempt was aborted otherwise, or it died. */
export type ChildLossReason = 'timeout' | 'aborted' | 'crashed';

/** How long an idle child may take to exit when the worker closes before it is SIGKILLed. */
const CLOSE_GRACE_MS = 2000;
/** Run ids, unique in this worker process. */
let nextRunId = 1;

/**
 * The child processes of one isolated role in one worker, reused like a prefork pool, one task
 * at a time each. A child's start-up (loading the role modules) counts toward an attempt's
 * timeout, so the pool keeps children warm: one starts with the pool, more are added when tasks
 * overlap, and one killed or crashed mid-task is replaced at once. BullMQ never runs more than
 * the role's concurrency at once, so the pool never holds more children than that.
 */
export class IsolatedPool {
  private readonly idle: IsolatedChild[] = [];
  private readonly busy = new Set<IsolatedChild>();
  private closed = false;

  constructor(
    private readonly role: AnyRole,
    private readonly init: ChildInit,
    private readonly config: Pick<TaskyardConfig, 'retention' | 'worker' | 'deadLetterTtlMs' | 'idempotencyTtlMs'>,
    private readonly logger: Logger,
    private readonly onLoss: (reason: ChildLossReason) => void,
  ) {}

  /** Runs one attempt in a child; has the handler's signature, so the processor calls either alike. */
  readonly run = async (message: TaskMessage, ctx: TaskContext): Promise<unknown> => {
    // Read now: this makes the attempt's AbortSignal, which the timeout then fires.
    const { signal } = ctx;
    signal.throwIfAborted();
    const child = this.idle.pop() ?? this.spawn(ctx.log, 'no idle process');
    this.busy.add(child);
    const onAbort = () => {
      const reason: ChildLossReason = signal.reason instanceof TaskTimeoutError ? 'timeout' : 'aborted';
      child.kill(signal.reason);
      this.onLoss(reason);
      ctx.log.warn({ childPid: child.pid, reason }, reason === 'timeout' ? 'isolated process killed at the timeout' : 'isolated process killed: its attempt was aborted');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await child.run(
        {
          type: 'run',
          runId: nextRunId++,
          message,
          attempt: ctx.attempt,
          maxAttempts: ctx.maxAttempts,
          ledger: ledgerTimings(this.role, ctx.maxAttempts, this.config),
          logBindings: { role: this.role.name, taskId: message.id, correlationId: message.metadata.correlationId, attempt: ctx.attempt },
        },
        ctx,
      );
    } catch (err) {
      if (err instanceof IsolatedChildCrashedError) {
        this.onLoss('crashed');
        ctx.log.error({ childPid: child.pid, exitCode: err.exitCode, signal: err.exitSignal }, 'isolated process exited during its task');
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.busy.delete(child);
      if (this.closed) void child.close(CLOSE_GRACE_MS);
      else this.idle.push(child.alive ? child : this.spawn(this.logger, 'replacing a lost one'));
    }
  };

  /** Starts the first child before the first task, so that task does not wait for it. */
  warm(): void {
    if (!this.closed && this.idle.length === 0 && this.busy.size === 0) this.idle.push(this.spawn(this.logger, 'ready for tasks'));
  }

  /** Ends every child: idle ones are asked to exit, any still busy (a forced close) are killed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.busy) child.kill(new Error('the worker is shutting down'));
    await Promise.all(this.idle.splice(0).map((child) => child.close(CLOSE_GRACE_MS)));
  }

  private spawn(log: Logger, why: string): IsolatedChild {
    const child = new IsolatedChild(this.init, (gone, code, signal) => {
      const at = this.idle.indexOf(gone);
      if (at >= 0) this.idle.splice(at, 1);
      // Not replaced until a task needs it: a child that cannot even load its role would otherwise respawn forever.
      this.logger.warn({ childPid: gone.pid, exitCode: code, signal }, 'idle isolated process exited');
    });
    log.info({ childPid: child.pid, why }, 'isolated process started');
    return child;
  }
}
