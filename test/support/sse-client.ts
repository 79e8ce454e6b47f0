import { waitFor } from './wait-for';

/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: any;
}

/**
 * A client of one Server-Sent Events stream (fetch, reading the body as it comes): every event
 * it got, in order, the comment lines (heartbeats), and whether the server ended the stream.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  ended = false;
  private readonly abort = new AbortController();
  private done!: Promise<void>;

  private constructor() {}

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.abort.signal });
    client.status = response.status;
    if (response.status !== 200) {
      client.ended = true;
      client.events.push({ id: undefined, event: 'http-error', data: await response.json().catch(() => undefined) });
      client.done = Promise.resolve();
      return client;
    }
    client.done = client.read(response.body!);
    return client;
  }

  /** The `data` of every `event: state`, in order. */
  get states(): string[] {
    return this.events.filter((event) => event.event === 'state').map((event) => event.data.state);
  }

  get lastId(): string | undefined {
    return this.events.findLast((event) => event.id !== undefined)?.id;
  }

  /** Waits until the client holds an event `accept` accepts. */
  async waitForEvent(what: string, accept: (event: SseEvent) => boolean, timeoutMs = 30_000): Promise<SseEvent> {
    await waitFor(what, async () => this.events.some(accept), { timeoutMs });
    return this.events.find(accept)!;
  }

  /** Waits until the server ended the stream. */
  async waitForEnd(timeoutMs = 30_000): Promise<void> {
    await waitFor('the server to end the stream', async () => this.ended, { timeoutMs });
  }

  close(): Promise<void> {
    this.abort.abort();
    return this.done.catch(() => undefined);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      this.ended = true;
    } catch {
      // Aborted by close().
    }
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
  }
}
