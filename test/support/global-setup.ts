import type { TestProject } from 'vitest/node';
import { hasRedisServer, RedisServer } from './redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * The suite's Redis: REDIS_URL when set (tests then keep to their own key prefixes), otherwise
 * a private redis-server for this run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const configured = process.env['REDIS_URL'];
  if (configured) {
    project.provide('redisUrl', configured);
    return async () => undefined;
  }
  if (!hasRedisServer()) {
    throw new Error('the tests need redis-server 7+ (apt-get install -y redis-server) or REDIS_URL pointing at a Redis');
  }
  const server = await new RedisServer().start();
  project.provide('redisUrl', server.url);
  return () => server.destroy();
}
