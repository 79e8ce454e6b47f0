import type { RedisClient } from './redis-client';
import { withScripts } from './scripts';
import type { TaskyardKeys } from './taskyard-keys';

/**
 * The Redis side of `ctx.once(key, fn)`: one string per (message, key) in the message's role's
 * slot, holding a claim or the done effect's result. The rules (who may run `fn`, what is in
 * doubt) are the worker's (runOnce).
 */
export class OnceClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: TaskyardKeys,
  ) {}

  /** Writes `value` if the entry does not exist (SET NX); true when it was written. */
  async claim(taskId: string, key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.once(taskId, key), value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  read(taskId: string, key: string): Promise<string | null> {
    return this.redis.get(this.keys.once(taskId, key));
  }

  async write(taskId: string, key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.once(taskId, key), value, 'PX', ttlMs);
  }

  /** Deletes the entry only if it still holds `value` (our claim). */
  async release(taskId: string, key: string, value: string): Promise<void> {
    await withScripts(this.redis).taskyardReleaseOnceClaim(this.keys.once(taskId, key), value);
  }
}
