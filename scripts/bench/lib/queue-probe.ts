import type { Redis } from 'ioredis';
import { ECHO } from './sides';

/** Reads BullMQ's own keys for a side's echo queue (`<queue prefix>:echo:…`, or another role's), as the bench's probe. */
export class QueueProbe {
  /** Commands this probe sent (the Redis cost figures leave them out). */
  commandsSent = 0;

  constructor(
    private readonly redis: Redis,
    private readonly side: { readonly queuePrefix: string },
    private readonly queueName: string = ECHO,
  ) {}

  key(suffix: string): string {
    return `${this.side.queuePrefix}:${this.queueName}:${suffix}`;
  }

  async completed(): Promise<number> {
    this.commandsSent++;
    return this.redis.zcard(this.key('completed'));
  }

  async failed(): Promise<number> {
    this.commandsSent++;
    return this.redis.zcard(this.key('failed'));
  }

  async waiting(): Promise<number> {
    this.commandsSent++;
    return this.redis.llen(this.key('wait'));
  }

  /** Jobs not finished yet: waiting, active, delayed (retries) and prioritized. */
  async unfinished(): Promise<number> {
    const replies = await this.redis
      .pipeline()
      .llen(this.key('wait'))
      .llen(this.key('active'))
      .zcard(this.key('delayed'))
      .zcard(this.key('prioritized'))
      .exec();
    this.commandsSent += 4;
    return (replies ?? []).reduce((sum, [err, value]) => (err ? sum : sum + Number(value)), 0);
  }

  /**
   * The processing window of every completed job: first `processedOn` to last `finishedOn`
   * (BullMQ's own timestamps, written by the worker).
   */
  async processingWindow(): Promise<{ count: number; firstStart: number; lastFinish: number }> {
    const entries = await this.redis.zrange(this.key('completed'), 0, -1, 'WITHSCORES');
    let lastFinish = 0;
    const ids: string[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      ids.push(entries[i]!);
      lastFinish = Math.max(lastFinish, Number(entries[i + 1]));
    }
    const starts = await this.field(ids, 'processedOn');
    const firstStart = starts.reduce((min, value) => (value < min ? value : min), Number.POSITIVE_INFINITY);
    return { count: ids.length, firstStart, lastFinish };
  }

  /** `field` of each job (NaN where missing), read in pipelined chunks. */
  async field(ids: readonly string[], field: string): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < ids.length; i += 2000) {
      const pipeline = this.redis.pipeline();
      for (const id of ids.slice(i, i + 2000)) pipeline.hget(this.key(id), field);
      for (const [err, value] of (await pipeline.exec()) ?? []) out.push(err || value === null ? Number.NaN : Number(value));
    }
    return out;
  }
}
