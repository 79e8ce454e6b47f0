import { TcpProxy, type ProxiedConnection } from '../../lib/tcp-proxy';

/**
 * A TCP proxy in front of Redis that holds every chunk `oneWayMs` in each direction, so one
 * round trip to Redis costs 2 × oneWayMs: a request's latency through it, divided by that, is
 * the number of round trips it made one after the other (the bench's measure of round trips,
 * independent of how the client batches its commands). Every chunk waits the same: order is kept.
 */
export class DelayProxy extends TcpProxy {
  constructor(
    target: { host: string; port: number },
    readonly oneWayMs: number,
  ) {
    super(target);
  }

  protected override toServer(chunk: Buffer, connection: ProxiedConnection): void {
    setTimeout(() => connection.upstream.write(chunk), this.oneWayMs);
  }

  protected override toClient(chunk: Buffer, connection: ProxiedConnection): void {
    setTimeout(() => connection.client.write(chunk), this.oneWayMs);
  }
}
