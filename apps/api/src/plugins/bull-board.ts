import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { RoleQueues } from '@taskyard/store';
import { ApiError } from '../errors/api-error';

export const BULL_BOARD_PATH = '/admin/queues';

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

/** Bull Board over every role's queue, behind Basic or Bearer authentication. */
export async function bullBoardRoutes(app: FastifyInstance, { queues }: { queues: RoleQueues }): Promise<void> {
  const serverAdapter = new BoardAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Taskyard' } },
  });
  app.addHook('onRequest', app.requireBrowserAuth);
  await app.register(serverAdapter.registerPlugin());
}
