import type { LogLevel } from '@taskyard/config';
import { errorClassOf, PermanentTaskError, TaskyardError, TransientTaskError, type TaskMessage } from '@taskyard/contracts';
import type { SendOptions } from '@taskyard/roles';
import type { LedgerTimings, RedisTarget } from '@taskyard/store';

/**
 * The messages a worker and its isolated children exchange over the fork IPC channel
 * ("advanced" serialization, so Dates, Maps and the like in payloads and results survive).
 */

/** What a child needs to load the roles and reach Redis; sent once, first. */
export interface ChildInit {
  type: 'init';
  role: string;
  roleModules: readonly string[];
  /** Where Redis is (one server or a cluster's seed nodes): the child's own connection, for `ctx.redis` and `once`. */
  redis: RedisTarget;
  queuePrefix: string;
  logLevel: LogLevel;
}

/** One attempt of an already verified and parsed message. */
export interface RunRequest {
  type: 'run';
  /** Tags the calls this run forwards, so a call from a run that already answered is refused. */
  runId: number;
  message: TaskMessage;
  attempt: number;
  maxAttempts: number;
  /** How long this message's `ctx.once` claims are held and kept (the worker knows the role's effective settings). */
  ledger: LedgerTimings;
  /** Bound to every line the handler logs, like the worker's own task lines. */
  logBindings: Record<string, unknown>;
}

/** The worker's answer to a context call the child forwarded. */
export type CallReply = { type: 'reply'; callId: number } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError });

export type ParentMessage = ChildInit | RunRequest | CallReply;

/** Context methods that act on the worker's side: BullMQ's job and the message signer live there. */
export type ForwardedCall =
  | { method: 'progress'; args: [value: number | object] }
  | { method: 'send'; args: [role: string, payload: unknown, options?: SendOptions] }
  | { method: 'publish'; args: [topic: string, payload: unknown, options?: SendOptions] }
  | { method: 'children'; args: [role?: string] };

export type ChildMessage =
  | ({ type: 'call'; callId: number; runId: number } & ForwardedCall)
  | ({ type: 'done' } & ({ ok: true; value: unknown } | { ok: false; error: SerializedError }));

/** An error as it crosses the process boundary: enough to classify it the same on the other side. */
export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
  permanent: boolean;
  stack: string | undefined;
}

export function serializeError(err: unknown): SerializedError {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = error instanceof TaskyardError ? error.code : undefined;
  return { name: error.name, code, message: error.message, permanent: errorClassOf(error) === 'permanent', stack: error.stack };
}

/**
 * The error a handler threw in its child, as the class the processor classifies: permanent
 * errors keep BullMQ from retrying, everything else is transient. Codes and messages are kept;
 * an error without a code gets "ERROR", as it would in-process.
 */
export function rebuildError(serialized: SerializedError): Error {
  const error = serialized.permanent
    ? new PermanentTaskError(serialized.message, serialized.code ?? 'PERMANENT')
    : new TransientTaskError(serialized.message, serialized.code ?? 'ERROR');
  // The child's stack says where the handler failed; the rebuilt error's own stack says nothing.
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}
