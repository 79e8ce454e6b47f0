import { AsyncLocalStorage } from 'node:async_hooks';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasScope, type Principal } from '@taskyard/contracts';
import type { RoleRegistry } from '@taskyard/roles';
import type { RoleQueues } from '@taskyard/store';
import { ApiError } from '../errors/api-error';
import { missingScope, requireOperator } from './auth';

export const BULL_BOARD_PATH = '/admin/queues';

/** What a sensitive role's job data and results read as on the board. */
export const REDACTED = '[redacted: the role is marked sensitive]';

type BoardErrorHandler = Parameters<FastifyAdapter['setErrorHandler']>[0];

/**
 * Bull Board sets its own error handler on its routes, which answers with status and body only:
 * the auth hook's 401 would lose its WWW-Authenticate challenge (so browsers never ask for
 * credentials) and our error shape. An error handler that throws hands the error to the parent's,
 * so our own errors go on to the API's error handler; the board's keep the board's.
 */
class BoardAdapter extends FastifyAdapter {
  override setErrorHandler(handler: BoardErrorHandler): this {
    return super.setErrorHandler((error) => {
      if (error instanceof ApiError) throw error;
      return handler(error);
    });
  }
}

/** The principal of the board request being handled (set before the board's handler runs). */
const viewer = new AsyncLocalStorage<Principal>();

const isAdmin = () => {
  const principal = viewer.getStore();
  return principal !== undefined && hasScope(principal, 'admin');
};

/**
 * A queue as the board shows it to the current viewer: read-only unless the viewer holds
 * `admin` (Bull Board then hides the actions, and refuses them itself with 405), and a
 * sensitive role's job data and results redacted for everyone.
 */
function queueAdapter(queue: ConstructorParameters<typeof BullMQAdapter>[0], sensitive: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, { readOnlyMode: true });
  // Bull Board reads these per request (its queue list, its queue provider): answer for the viewer.
  for (const flag of ['readOnlyMode', 'allowRetries', 'allowCompletedRetries'] as const) {
    Object.defineProperty(adapter, flag, { get: flag === 'readOnlyMode' ? () => !isAdmin() : isAdmin, set: () => undefined, configurable: true });
  }
  if (sensitive) {
    adapter.setFormatter('data', () => REDACTED);
    adapter.setFormatter('returnValue', () => REDACTED);
    adapter.setFormatter('progress', () => REDACTED);
  }
  return adapter;
}

/**
 * Board API routes only an admin may call even with GET (matched as route patterns, so no
 * spelling of the path gets past): the Redis server's version, port and memory, the workers'
 * client addresses, and a job's log (every attempt's error message, also of sensitive roles).
 */
const ADMIN_READS = new Set([`${BULL_BOARD_PATH}/api/redis/stats`, `${BULL_BOARD_PATH}/api/queues/:queueName/workers`, `${BULL_BOARD_PATH}/api/queues/:queueName/:jobId/logs`]);

/**
 * Bull Board over every role's queue, behind Basic or Bearer authentication: `dashboard:read`
 * sees it read-only, `admin` may act (every action is audited); a tenant-bound key gets no board
 * (403), since its pages show every tenant's jobs. The scope is enforced on the board's own API
 * routes, whatever the page shows.
 */
export async function bullBoardRoutes(app: FastifyInstance, { queues, registry }: { queues: RoleQueues; registry: RoleRegistry }): Promise<void> {
  const serverAdapter = new BoardAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((queue) => queueAdapter(queue, registry.get(queue.name)?.sensitive === true)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Taskyard' } },
  });
  app.addHook('onRequest', app.requireBrowserAuth);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const principal = request.principal!;
    requireOperator(request, 'the dashboard shows every tenant’s jobs', 'dashboard:read');
    if (!hasScope(principal, 'dashboard:read')) throw missingScope('dashboard:read');
    const route = request.routeOptions.url;
    const reads = request.method === 'GET' || request.method === 'HEAD';
    if ((!reads || (route !== undefined && ADMIN_READS.has(route))) && !hasScope(principal, 'admin')) throw missingScope('admin');
  });
  // After body parsing, so the board's handler runs inside the viewer's context.
  app.addHook('preHandler', (request, _reply, done) => viewer.run(request.principal!, done));
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || reply.statusCode >= 400) return;
    app.audit.action('board.action', { keyId: request.principal?.keyId, method: request.method, path: request.url.split('?')[0], status: reply.statusCode });
  });
  await app.register(serverAdapter.registerPlugin());
}
