import type { FastifyBaseLogger } from 'fastify';

/**
 * Logs "Redis is full" once per episode rather than once per refused request: under a flood
 * every submit is refused, and a line each would drown the log (and fill the disk next to the
 * full Redis). An episode ends when Redis takes a task again (the API answers 202).
 */
export class RedisFullEpisode {
  private full = false;

  refused(log: FastifyBaseLogger, err: unknown): void {
    if (this.full) {
      log.debug({ err }, 'redis full');
      return;
    }
    this.full = true;
    log.warn(
      { err },
      'redis is full (maxmemory reached under noeviction): answering 503 REDIS_FULL until it takes writes again; raise maxmemory or let workers drain the queues',
    );
  }

  accepted(log: FastifyBaseLogger): void {
    if (!this.full) return;
    this.full = false;
    log.info('redis takes writes again');
  }
}
