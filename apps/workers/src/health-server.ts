import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { bearerTokenMatches } from '@taskyard/crypto';

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** METRICS_TOKEN: when set, /metrics needs it as a Bearer token. */
  metricsToken?: string | undefined;
  /** True while the process can take jobs (Redis connected, workers running). */
  isReady: () => boolean;
}

/** A small HTTP server per worker process: /metrics, /health/live, /health/ready. */
export class HealthServer {
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: HealthServerOptions) {
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/', req.method ?? 'GET', req.headers.authorization).then(({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async handle(url: string, method: string, authorization: string | undefined): Promise<{ status: number; type: string; body: string }> {
    const json = (status: number, body: unknown) => ({ status, type: 'application/json', body: JSON.stringify(body) });
    if (method !== 'GET') return json(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served here' } });
    const path = url.split('?')[0];
    if (path === '/metrics') {
      const { metricsToken } = this.options;
      if (metricsToken !== undefined && !bearerTokenMatches(authorization, metricsToken)) {
        return json(401, { error: { code: 'UNAUTHORIZED', message: 'send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"' } });
      }
      return { status: 200, type: this.options.registry.contentType, body: await this.options.registry.metrics() };
    }
    if (path === '/health/live') return json(200, { status: 'ok' });
    if (path === '/health/ready') {
      const ready = this.options.isReady();
      return json(ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable' });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: `no route ${path}` } });
  }
}
