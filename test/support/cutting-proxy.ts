import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of Redis that, once armed, cuts a connection in the middle of what it
 * sends: it forwards everything up to the command that names the second of two `markers` (e.g.
 * the hash tags of two roles' keys, or two payloads) and then closes both sides, so Redis has
 * received the first command whole and the second not at all. Redis discards a transaction
 * whose connection closes before EXEC; a pipeline (or two transactions) has its first part
 * applied. This is how a test sees the API die in the middle of an enqueue.
 */
export class CuttingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private armed: readonly string[] | undefined;
  /** Counts armings, so a connection starts afresh what it has seen for each. */
  private arming = 0;
  private cutDone: (() => void) | undefined;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Cuts the connection that next sends two of `markers`, before the second; resolves once it has. */
  cutBetween(markers: readonly string[]): Promise<void> {
    this.armed = markers.map((marker) => marker.toLowerCase());
    this.arming++;
    return new Promise((resolve) => (this.cutDone = resolve));
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      // What this connection sent since the proxy was armed (commands may span chunks).
      let seen = '';
      let seenFor = 0;
      client.on('data', (chunk: Buffer) => {
        const markers = this.armed;
        if (!markers) return void upstream.write(chunk);
        if (seenFor !== this.arming) [seen, seenFor] = ['', this.arming];
        // ioredis sends command names in lower case, markers are kept so: compare in lower case.
        const before = seen.length;
        seen += chunk.toString('latin1').toLowerCase();
        const cut = secondMarkerAt(seen, markers);
        if (cut === undefined) return void upstream.write(chunk);
        this.armed = undefined;
        const keep = Math.max(0, cut - before);
        upstream.write(chunk.subarray(0, keep), () => {
          upstream.destroy();
          client.destroy();
          this.cutDone?.();
        });
      });
      upstream.on('data', (chunk) => client.write(chunk));
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

/**
 * Where to cut `text` (RESP commands): at the start of the first command that names another of
 * `markers` than the first one seen, after the command that named that first one.
 */
function secondMarkerAt(text: string, markers: readonly string[]): number | undefined {
  const firsts = markers.map((marker) => ({ marker, at: text.indexOf(marker) })).filter(({ at }) => at >= 0);
  if (firsts.length === 0) return undefined;
  const first = firsts.reduce((a, b) => (b.at < a.at ? b : a));
  for (const other of markers.filter((marker) => marker !== first.marker)) {
    for (let at = text.indexOf(other, first.at); at >= 0; at = text.indexOf(other, at + 1)) {
      const commandStart = text.lastIndexOf('\r\n*', at);
      if (commandStart > first.at) return commandStart + 2;
    }
  }
  return undefined;
}
