import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { TaskyardConfig } from '@taskyard/config';
import type { ErrorBody } from '@taskyard/contracts';

/** Seconds a shed client should wait: pressure is sampled every second and eases over a few. */
export const OVERLOADED_RETRY_AFTER_SECONDS = 5;
/** Shedding is logged at most this often: one line per request would add to the overload. */
const LOG_EVERY_MS = 10_000;

type PressureHandler = NonNullable<FastifyUnderPressureOptions['pressureHandler']>;

const OVERLOADED_BODY: ErrorBody = {
  error: { code: 'OVERLOADED', message: 'the API is overloaded and sheds load; retry after the Retry-After delay' },
};

export interface LoadSheddingOptions {
  pressure: TaskyardConfig['pressure'];
}

/**
 * Load shedding with @fastify/under-pressure (Fastify's own, sampling event-loop delay and
 * memory once a second off the request path, so a request pays only a few comparisons): while
 * the process is past a PRESSURE_* limit, requests of the scope it is registered in answer 503
 * OVERLOADED with Retry-After before any other work (authentication included). Register it in
 * the API scope only, so health checks and /metrics keep answering an overloaded process.
 * All limits 0: not registered at all.
 */
export const loadSheddingPlugin = fp<LoadSheddingOptions>(
  async (app: FastifyInstance, { pressure }) => {
    if (pressure.maxEventLoopDelayMs === 0 && pressure.maxHeapUsedBytes === 0 && pressure.maxRssBytes === 0) return;
    let lastLoggedAt = -Infinity;
    // Answers directly rather than through the error handler, which logs every 5xx as an error.
    const shed = (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined): ErrorBody => {
      const now = Date.now();
      if (now - lastLoggedAt >= LOG_EVERY_MS) {
        lastLoggedAt = now;
        request.log.warn({ pressure: type, value }, 'shedding load: answering 503 OVERLOADED');
      }
      void reply.status(503).header('retry-after', String(OVERLOADED_RETRY_AFTER_SECONDS));
      return OVERLOADED_BODY;
    };
    await app.register(underPressure, {
      maxEventLoopDelay: pressure.maxEventLoopDelayMs,
      maxHeapUsedBytes: pressure.maxHeapUsedBytes,
      maxRssBytes: pressure.maxRssBytes,
      sampleInterval: 1000,
      // under-pressure sends a returned value and ends the request there (its README,
      // "pressureHandler"); its typings only allow void, hence the cast.
      pressureHandler: shed as unknown as PressureHandler,
    });
  },
  { name: 'taskyard-load-shedding' },
);
