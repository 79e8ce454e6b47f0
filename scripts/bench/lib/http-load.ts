import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface LoadResult {
  /** 2xx responses per second over the run. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
}

/** autocannon against one URL, one POST per request, `connections` kept busy for `durationSeconds`. */
export async function postLoad(options: {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationSeconds: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    timeout: 10,
  });
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/**
 * A lean HTTP client for the open-loop scenarios: `http.request` on a keep-alive agent. Global
 * `fetch` (undici) costs the load generator several times as much CPU per request; on a 2-core
 * machine shared with the processes under test, that showed up in Taskyard's latency tails only
 * (the raw side adds its jobs in-process, without HTTP).
 */
export class JsonPoster {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
