import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { bearerTokenMatches } from '@taskyard/crypto';
import { ApiError } from '../errors/api-error';
import type { ApiMetrics } from './api-metrics';

/** Records every response in the HTTP metrics and serves GET /metrics (Prometheus text), behind METRICS_TOKEN when set. */
export const metricsPlugin = fp<{ metrics: ApiMetrics; token: string | undefined }>(
  async (app: FastifyInstance, { metrics, token }) => {
    app.addHook('onResponse', async (request, reply) => {
      const series = metrics.httpSeries(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
      series.requests.inc();
      series.duration.observe(reply.elapsedTime / 1000);
    });
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (token !== undefined && !bearerTokenMatches(request.headers.authorization, token)) {
        throw new ApiError('UNAUTHORIZED', 'send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"');
      }
      void reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'taskyard-metrics' },
);
