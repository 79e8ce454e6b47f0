import { resolve } from 'node:path';
import { NodeProcess } from './node-process';

export const API_MAIN = resolve(__dirname, '../../apps/api/dist/main.js');

/**
 * The API as its own OS process (`node apps/api/dist/main.js`, built by `npm test`), for what
 * only main.ts does: start-up checks, refusing to start, exit codes. ApiServer (in-process) is
 * the one for requests.
 */
export class ApiProcess extends NodeProcess {
  constructor(env: Record<string, string>) {
    super('api', API_MAIN, env);
  }

  /** Waits until the API listens; resolves with its base URL (throws if it exited instead). */
  async waitUntilListening(timeoutMs = 30_000): Promise<string> {
    const found = await this.waitForStartupLine('the API to listen', (line) => /^Server listening at /.test(line.msg ?? ''), timeoutMs);
    return found.msg!.replace('Server listening at ', '');
  }
}
