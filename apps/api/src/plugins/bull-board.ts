import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { RoleQueues } from '@taskyard/shared';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board over every role's queue, behind Basic or Bearer authentication. */
export async function bullBoardRoutes(app: FastifyInstance, { queues }: { queues: RoleQueues }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Taskyard' } },
  });
  app.addHook('onRequest', app.requireBrowserAuth);
  await app.register(serverAdapter.registerPlugin());
}
