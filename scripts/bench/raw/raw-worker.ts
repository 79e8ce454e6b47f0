/**
 * The raw counterpart of a Taskyard worker process for the bench: one BullMQ Worker on the
 * echo queue with a no-op processor, at the given concurrency, with Taskyard's lock settings.
 *
 * env: REDIS_URL, QUEUE_PREFIX, QUEUE, CONCURRENCY, LOCK_DURATION_MS, STALLED_INTERVAL_MS.
 * Prints "ready" once the worker takes jobs.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

async function main(): Promise<void> {
  const env = process.env;
  const connection = new Redis(env['REDIS_URL']!, { maxRetriesPerRequest: null });
  const worker = new Worker(env['QUEUE'] ?? 'echo', async () => undefined, {
    connection,
    prefix: env['QUEUE_PREFIX']!,
    concurrency: Number(env['CONCURRENCY'] ?? 1),
    lockDuration: Number(env['LOCK_DURATION_MS'] ?? 30_000),
    stalledInterval: Number(env['STALLED_INTERVAL_MS'] ?? 30_000),
  });
  worker.on('error', (err) => process.stderr.write(`raw-worker: ${err.message}\n`));

  const stop = async () => {
    await worker.close();
    await connection.quit();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());

  await worker.waitUntilReady();
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`raw-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
