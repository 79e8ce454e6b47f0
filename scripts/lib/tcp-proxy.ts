import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One client's connection through the proxy: its socket and the proxy's own to the target. */
export interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Closes both sides. */
  cut(): void;
}

/**
 * A loopback TCP proxy in front of Redis (or anything), for benchmarks and tests that need to
 * stand between a client and its server: by default it forwards every chunk as it comes; a
 * subclass changes what happens to the chunks going to the server or back.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(protected readonly target: { host: string; port: number }) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const connection: ProxiedConnection = {
        client,
        upstream,
        cut: () => {
          upstream.destroy();
          client.destroy();
        },
      };
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => this.toServer(chunk, connection));
      upstream.on('data', (chunk: Buffer) => this.toClient(chunk, connection));
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

  /** What a chunk from the client does: goes on to the server. */
  protected toServer(chunk: Buffer, connection: ProxiedConnection): void {
    connection.upstream.write(chunk);
  }

  /** What a chunk from the server does: goes back to the client. */
  protected toClient(chunk: Buffer, connection: ProxiedConnection): void {
    connection.client.write(chunk);
  }
}
