import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyRequestLogger } from './lazy-request-logger';

/** A Fastify app logging JSON lines into `lines`, with the lazy request loggers. */
async function appWithLog() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const child = vi.spyOn(logger, 'child');
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true, childLoggerFactory: lazyRequestLogger });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/loud', async (request) => {
    request.log.warn({ detail: 1 }, 'something to say');
    request.log.debug('not at this level');
    return { ok: true };
  });
  await app.ready();
  return { app, lines, child };
}

describe('request loggers made on first use', () => {
  it('make no child logger for a request that logs nothing', async () => {
    const { app, lines, child } = await appWithLog();
    const calls = child.mock.calls.length;
    expect((await app.inject({ method: 'GET', url: '/quiet' })).statusCode).toBe(200);
    expect(child.mock.calls.length).toBe(calls);
    expect(lines).toEqual([]);
    await app.close();
  });

  it('write lines bound to the request id, at the logger level', async () => {
    const { app, lines } = await appWithLog();
    const response = await app.inject({ method: 'GET', url: '/loud' });
    expect(response.statusCode).toBe(200);
    expect(lines).toEqual([expect.objectContaining({ level: 40, reqId: expect.any(String), detail: 1, msg: 'something to say' })]);
    await app.close();
  });
});
