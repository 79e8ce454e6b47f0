import { setTimeout as sleep } from 'node:timers/promises';
import {
  MAX_BROADCAST_RESULT_BYTES,
  type BroadcastAck,
  type BroadcastContent,
  type BuiltInBroadcastPayload,
} from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AnyRole, BroadcastHandler } from '@taskyard/roles';

/** What a broadcast may act on in this worker process. */
export interface BroadcastTarget {
  readonly workerId: string;
  /** The roles this process runs. */
  readonly roles: readonly AnyRole[];
  /** Tasks running here now: of `role` (0 for a role this process does not run), or of every role. */
  active(role?: string): number;
  /** Reads the stored log levels and puts them in force. */
  refreshLogLevels(): Promise<void>;
  /** The level in force for `role`'s lines, or the process's own. */
  levelOf(role?: string): string;
  /** The logger of `role`'s lines. */
  roleLogger(role: string): Logger;
  /** Starts the graceful shutdown SIGTERM starts: finish the active tasks, leave the registry, exit 0. */
  drain(): void;
}

/** How this process answers a broadcast, and what it does once the answer is recorded (a drain exits). */
export interface BroadcastOutcome {
  ack: Pick<BroadcastAck, 'result' | 'error'>;
  afterAck?: () => void;
}

/**
 * Runs one broadcast in this worker process, by type: the built-in ones (a paused or resumed
 * queue and the stored log level were already put in Redis by the API; here the worker reports
 * its running tasks, puts the levels in force, or drains) and the roles' own, each handler of a
 * role this process runs once, under the role's timeout. It answers the acknowledgement; it
 * never throws for a handler's failure (the acknowledgement carries it).
 */
export class BroadcastDispatcher {
  constructor(
    private readonly target: BroadcastTarget,
    private readonly logger: Logger,
  ) {}

  async dispatch(broadcast: BroadcastContent): Promise<BroadcastOutcome> {
    const log = { broadcastId: broadcast.id, type: broadcast.type };
    switch (broadcast.type) {
      case 'pause-role':
      case 'resume-role': {
        const { role } = broadcast.payload as BuiltInBroadcastPayload<'pause-role'>;
        const active = this.target.active(role);
        const runs = this.target.roles.some((candidate) => candidate.name === role);
        if (runs) this.logger.info({ ...log, role, active }, broadcast.type === 'pause-role' ? 'role paused: its queue gives no worker new tasks' : 'role resumed');
        return { ack: { result: { active } } };
      }
      case 'set-log-level': {
        await this.target.refreshLogLevels();
        const { role } = broadcast.payload as BuiltInBroadcastPayload<'set-log-level'>;
        return { ack: { result: { level: this.target.levelOf(role) } } };
      }
      case 'drain': {
        const active = this.target.active();
        this.logger.info({ ...log, active }, 'drain requested: finishing active tasks, then exiting');
        return { ack: { result: { active } }, afterAck: () => this.target.drain() };
      }
      default:
        return this.custom(broadcast);
    }
  }

  /** A role's own type: every role of this process that handles it, one after the other; results by role. */
  private async custom(broadcast: BroadcastContent): Promise<BroadcastOutcome> {
    const results: Record<string, unknown> = {};
    let error: BroadcastAck['error'];
    for (const role of this.target.roles) {
      const handler = role.onBroadcast[broadcast.type] as BroadcastHandler | undefined;
      if (!handler) continue;
      try {
        results[role.name] = (await this.runHandler(role, handler, broadcast)) ?? null;
      } catch (err) {
        error ??= { code: err instanceof HandlerTimeout ? 'TIMEOUT' : 'BROADCAST_HANDLER_FAILED', message: err instanceof Error ? err.message : String(err), role: role.name };
        this.target.roleLogger(role.name).warn({ broadcastId: broadcast.id, type: broadcast.type, err }, 'broadcast handler failed');
      }
    }
    const size = Buffer.byteLength(JSON.stringify(results), 'utf8');
    if (size > MAX_BROADCAST_RESULT_BYTES) {
      return { ack: { error: { code: 'RESULT_TOO_LARGE', message: `the handlers' results are ${size} bytes of JSON, more than ${MAX_BROADCAST_RESULT_BYTES}` } } };
    }
    return { ack: { result: results, ...(error ? { error } : {}) } };
  }

  private async runHandler(role: AnyRole, handler: BroadcastHandler, broadcast: BroadcastContent): Promise<unknown> {
    const parsed = handler.payload ? handler.payload.safeParse(broadcast.payload) : { success: true as const, data: broadcast.payload };
    if (!parsed.success) throw new Error(`payload does not match the role's schema for "${broadcast.type}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const controller = new AbortController();
    const ctx = {
      broadcastId: broadcast.id,
      workerId: this.target.workerId,
      role: role.name,
      log: this.target.roleLogger(role.name).child({ broadcastId: broadcast.id, type: broadcast.type }),
      signal: controller.signal,
    };
    const timer = new AbortController();
    const timeout = sleep(role.timeoutMs, undefined, { signal: timer.signal, ref: false }).then(
      () => {
        const reason = new HandlerTimeout(`the handler took longer than the role's timeout (${role.timeoutMs} ms)`);
        controller.abort(reason);
        throw reason;
      },
      // The handler finished first.
      () => undefined,
    );
    try {
      return await Promise.race([Promise.resolve().then(() => handler.handle(parsed.data, ctx)), timeout]);
    } finally {
      timer.abort();
    }
  }
}

class HandlerTimeout extends Error {
  override readonly name = 'HandlerTimeout';
}
