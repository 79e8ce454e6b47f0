import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiMetrics } from './api-metrics';

/** Records every response in the HTTP metrics and serves GET /metrics (Prometheus text). */
export const metricsPlugin = fp<{ metrics: ApiMetrics }>(
  async (app: FastifyInstance, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      const series = metrics.httpSeries(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
      series.requests.inc();
      series.duration.observe(reply.elapsedTime / 1000);
    });
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      void reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'taskyard-metrics' },
);
