import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseLimits {
  heartbeatMs: number;
  /** What may wait unsent for a client before it is dropped as too slow. */
  maxBufferBytes: number;
}

/** How long a dropped client's last event may take to leave before its connection is cut. */
const DROP_GRACE_MS = 5000;

/**
 * One Server-Sent Events response: the reply taken over from Fastify, events written as they
 * come, a comment line every `heartbeatMs` so proxies keep an idle stream open. A client that
 * reads slower than its events come is dropped with a last `event: end` (`slow-client`) once
 * more than `maxBufferBytes` wait for it when the next event comes, rather than buffered
 * without bound (the kernel's socket buffers hold what it has not read before that).
 */
export class SseStream {
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closers: (() => void)[] = [];

  constructor(
    request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly limits: SseLimits,
  ) {
    reply.hijack();
    reply.raw.writeHead(200, {
      // The security headers set for every response (onRequest) go out with this one too.
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx: pass each event on at once.
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), limits.heartbeatMs);
    this.heartbeat.unref();
    request.raw.on('close', () => this.finish());
    reply.raw.on('close', () => this.finish());
    // A client that left while the stream was being set up: nothing will say so later.
    if (request.raw.destroyed || reply.raw.destroyed || reply.raw.socket?.destroyed !== false) this.finish();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `closer` once the stream ends, whoever ends it. */
  onClose(closer: () => void): void {
    if (this.closed) closer();
    else this.closers.push(closer);
  }

  /** Writes one event; false once the stream has ended. */
  send(event: string, data: unknown, id?: string): boolean {
    return this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream, with a last `event: end` naming why when there is a reason to give. */
  end(reason?: 'slow-client' | 'shutdown' | 'unavailable'): void {
    if (this.closed) return;
    const { raw } = this.reply;
    if (reason) raw.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    if (reason === 'slow-client') {
      // Dropped: the connection goes too (not kept alive for a client this slow), once what was
      // written left for the kernel to deliver, or after a grace period whatever it holds.
      const socket = raw.socket;
      const drop = () => socket?.destroy();
      raw.once('finish', drop);
      setTimeout(drop, DROP_GRACE_MS).unref();
    }
    raw.end();
    this.finish();
  }

  private write(chunk: string): boolean {
    if (this.closed) return false;
    // What earlier writes left unsent by now (not counting this one: a big event alone is no backlog).
    if (this.reply.raw.writableLength > this.limits.maxBufferBytes) {
      this.end('slow-client');
      return false;
    }
    this.reply.raw.write(chunk);
    return true;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const closer of this.closers.splice(0)) closer();
  }
}
