import { resolve } from 'node:path';
import { ApiClient } from './api-client';
import { NodeProcess } from './node-process';

export const API_MAIN = resolve(__dirname, '../../apps/api/dist/main.js');

/**
 * The API as its own OS process (`node apps/api/dist/main.js`, built by `npm test`), for what
 * only main.ts does (start-up checks, refusing to start, exit codes) and for a platform whose every
 * part is a process of its own. ApiServer (in-process) is the one for most requests.
 */
export class ApiProcess extends NodeProcess {
  /** Requests to this process, once it listens (waitUntilListening). */
  readonly client = new ApiClient();

  constructor(env: Record<string, string>) {
    super('api', API_MAIN, env);
  }

  /** Waits until the API listens; resolves with its base URL (throws if it exited instead). */
  async waitUntilListening(timeoutMs = 30_000): Promise<string> {
    const found = await this.waitForStartupLine('the API to listen', (line) => /^Server listening at /.test(line.msg ?? ''), timeoutMs);
    this.client.baseUrl = found.msg!.replace('Server listening at ', '');
    return this.client.baseUrl;
  }
}
