import { TcpProxy, type ProxiedConnection } from '../../scripts/lib/tcp-proxy';

/**
 * A TCP proxy in front of Redis that, once armed, cuts a connection in the middle of what it
 * sends: it forwards everything up to the command that names the second of two `markers` (e.g.
 * the hash tags of two roles' keys, or two payloads) and then closes both sides, so Redis has
 * received the first command whole and the second not at all. Redis discards a transaction
 * whose connection closes before EXEC; a pipeline (or two transactions) has its first part
 * applied. This is how a test sees the API die in the middle of an enqueue.
 */
export class CuttingProxy extends TcpProxy {
  private armed: readonly string[] | undefined;
  /** Counts armings, so a connection starts afresh what it has seen for each. */
  private arming = 0;
  private cutDone: (() => void) | undefined;
  /** What each connection sent since the proxy was armed (commands may span chunks), and for which arming. */
  private readonly seen = new WeakMap<ProxiedConnection, { text: string; arming: number }>();
  private readonly cutting = new WeakSet<ProxiedConnection>();

  /** Cuts the connection that next sends two of `markers`, before the second; resolves once it has. */
  cutBetween(markers: readonly string[]): Promise<void> {
    this.armed = markers.map((marker) => marker.toLowerCase());
    this.arming++;
    return new Promise((resolve) => (this.cutDone = resolve));
  }

  protected override toServer(chunk: Buffer, connection: ProxiedConnection): void {
    // A connection being cut passes nothing more (its sockets close once the kept part is out).
    if (this.cutting.has(connection)) return;
    const markers = this.armed;
    if (!markers) return void connection.upstream.write(chunk);
    let seen = this.seen.get(connection);
    if (!seen || seen.arming !== this.arming) this.seen.set(connection, (seen = { text: '', arming: this.arming }));
    // ioredis sends command names in lower case, markers are kept so: compare in lower case.
    const before = seen.text.length;
    seen.text += chunk.toString('latin1').toLowerCase();
    const cut = secondMarkerAt(seen.text, markers);
    if (cut === undefined) return void connection.upstream.write(chunk);
    this.armed = undefined;
    this.cutting.add(connection);
    connection.upstream.write(chunk.subarray(0, Math.max(0, cut - before)), () => {
      connection.cut();
      this.cutDone?.();
    });
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
