import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of Redis that holds every chunk `oneWayMs` in each direction, so one
 * round trip to Redis costs 2 × oneWayMs: a request's latency through it, divided by that, is
 * the number of round trips it made one after the other (the bench's measure of round trips,
 * independent of how the client batches its commands).
 */
export class DelayProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    readonly oneWayMs: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      // Same delay for every chunk: order is kept.
      client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), this.oneWayMs));
      upstream.on('data', (chunk) => setTimeout(() => client.write(chunk), this.oneWayMs));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
