import type { TestProject } from 'vitest/node';
import { hasRedisServer, RedisServer } from './redis-server';
import { RedisCluster } from './redis-cluster';

/**
 * The suite's Redis: REDIS_URL when set (tests then keep to their own key prefixes), otherwise
 * a private redis-server for this run. The `cluster` project runs against a three-master Redis
 * Cluster on loopback that it starts here and removes afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const configured = process.env['REDIS_URL'];
  if (!hasRedisServer() && (project.name === 'cluster' || !configured)) {
    throw new Error('the tests need redis-server 7+ (apt-get install -y redis-server), and REDIS_URL pointing at a Redis or a redis-server to start');
  }
  if (project.name === 'cluster') {
    const cluster = await new RedisCluster(3).start();
    project.provide('redisUrl', `redis://127.0.0.1:${cluster.ports[0]}`);
    project.provide('redisClusterNodes', cluster.seeds);
    return () => cluster.destroy();
  }
  project.provide('redisClusterNodes', '');
  if (configured) {
    project.provide('redisUrl', configured);
    return async () => undefined;
  }
  const server = await new RedisServer().start();
  project.provide('redisUrl', server.url);
  return () => server.destroy();
}
