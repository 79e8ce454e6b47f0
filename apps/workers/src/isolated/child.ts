import pino from 'pino';
import { deepFreeze, PermanentTaskError } from '@taskyard/contracts';
import { builtInRoles } from '@taskyard/example-roles';
import { createLogger, type Logger } from '@taskyard/observability';
import { loadRoleRegistry, type AnyRole } from '@taskyard/roles';
import { ChildTaskContext, lazyRedis } from './child-context';
import { rebuildError, serializeError, type ChildInit, type ChildMessage, type ForwardedCall, type ParentMessage, type RunRequest } from './protocol';

/**
 * Entry point of an isolated child (dist/isolated/child.js, forked by IsolatedPool): runs one
 * role's handler on messages the worker has already verified, one at a time. The worker keeps
 * everything else (verification, output checks, metrics, records, the timeout) and SIGKILLs
 * this process when an attempt runs out of time, so nothing here has to be well behaved.
 */

interface Loaded {
  role: AnyRole;
  init: ChildInit;
  logger: Logger;
  redis: ReturnType<typeof lazyRedis>;
}

const pending = new Map<number, { resolve: (value: unknown) => void; reject: (reason: unknown) => void }>();
let nextCallId = 1;
let loaded: Loaded | undefined;
let running: AbortController | undefined;

function post(message: ChildMessage): void {
  process.send!(message);
}

/** Loads the role the same way the worker did (built-ins plus ROLE_MODULES). */
function load(init: ChildInit): Loaded {
  // Synchronous lines: this process may be SIGKILLed at any moment, and a buffered line would be lost.
  const logger = createLogger({ name: 'taskyard-worker', level: init.logLevel, destination: pino.destination({ fd: 1, sync: true }) });
  const role = loadRoleRegistry({ ROLE_MODULES: init.roleModules.join(',') }, builtInRoles).get(init.role);
  if (!role) throw new Error(`isolated child: unknown role "${init.role}"`);
  const redis = lazyRedis(init.redis, `taskyard-isolated:${init.role}:${process.pid}`, logger.child({ role: init.role }));
  return { role, init, logger, redis };
}

function call(runId: number, request: ForwardedCall): Promise<unknown> {
  const callId = nextCallId++;
  return new Promise((resolve, reject) => {
    pending.set(callId, { resolve, reject });
    post({ type: 'call', callId, runId, ...request });
  });
}

async function run({ role, init, logger, redis }: Loaded, request: RunRequest): Promise<void> {
  running = new AbortController();
  const message = deepFreeze(request.message);
  const ctx = new ChildTaskContext(
    logger.child(request.logBindings),
    running.signal,
    request.attempt,
    request.maxAttempts,
    init.queuePrefix,
    message,
    request.ledger,
    { redis: redis.get, call: (forwarded: ForwardedCall) => call(request.runId, forwarded) },
  );
  let outcome: ChildMessage;
  try {
    const value: unknown = await role.handler(message, ctx);
    outcome = { type: 'done', ok: true, value };
  } catch (err) {
    outcome = { type: 'done', ok: false, error: serializeError(err) };
  } finally {
    running = undefined;
  }
  try {
    post(outcome);
  } catch (err) {
    // A result the channel cannot carry (a function, a class instance with private state...)
    // would not survive being stored as the task's result either.
    const reason = new PermanentTaskError(`role "${role.name}" returned a result that cannot be sent back: ${String(err)}`, 'RESULT_UNSERIALIZABLE');
    post({ type: 'done', ok: false, error: serializeError(reason) });
  }
}

function onMessage(message: ParentMessage): void {
  switch (message.type) {
    case 'init':
      loaded = load(message);
      return;
    case 'run':
      void run(loaded!, message);
      return;
    case 'reply': {
      const waiting = pending.get(message.callId);
      pending.delete(message.callId);
      if (message.ok) waiting?.resolve(message.value);
      // Rebuilt as the same class, so a handler that lets it through fails the same way as in-process.
      else waiting?.reject(rebuildError(message.error));
      return;
    }
  }
}

if (!process.send) {
  process.stderr.write('taskyard isolated child: start me with child_process.fork (I need an IPC channel)\n');
  process.exit(1);
}
process.on('message', (message: ParentMessage) => {
  try {
    onMessage(message);
  } catch (err) {
    // Only loading can throw here; the worker sees the exit and fails the attempt.
    process.stderr.write(`taskyard isolated child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
});
// The channel closes when the worker shuts down or dies: an orphan must not keep running.
process.on('disconnect', () => {
  running?.abort(new Error('the worker went away'));
  loaded?.redis.close();
  process.exit(0);
});
// Ctrl-C in a terminal signals the whole process group; the worker drains first and closes us.
process.on('SIGINT', () => undefined);
