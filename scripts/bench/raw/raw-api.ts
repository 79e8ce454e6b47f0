/**
 * The raw counterpart of Taskyard's API for the bench: a bare Fastify app whose routes do
 * nothing but `queue.add` / `queue.addBulk` with the body's payload and the same job options
 * Taskyard uses. No auth, no schema, no signing, no metrics: what someone would write by hand.
 *
 * env: REDIS_URL, QUEUE_PREFIX, PORT, JOB_OPTIONS (JSON). Prints "ready" once listening.
 */
import { Queue, type JobsOptions } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

interface TaskBody {
  role: string;
  payload: unknown;
}

async function main(): Promise<void> {
  const env = process.env;
  const jobOptions = JSON.parse(env['JOB_OPTIONS'] ?? '{}') as JobsOptions;
  const connection = new Redis(env['REDIS_URL']!, { maxRetriesPerRequest: null });
  const queues = new Map<string, Queue>();
  const queueFor = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix: env['QUEUE_PREFIX']! });
      queues.set(name, queue);
    }
    return queue;
  };

  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  app.post<{ Body: TaskBody }>('/tasks', async (request, reply) => {
    const job = await queueFor(request.body.role).add(request.body.role, request.body.payload, jobOptions);
    void reply.status(202);
    return { id: job.id };
  });
  app.post<{ Body: { tasks: TaskBody[] } }>('/tasks/batch', async (request, reply) => {
    const tasks = request.body.tasks;
    const jobs = await queueFor(tasks[0]!.role).addBulk(tasks.map((task) => ({ name: task.role, data: task.payload, opts: jobOptions })));
    void reply.status(202);
    return { tasks: jobs.map((job) => ({ id: job.id })) };
  });

  const stop = async () => {
    await app.close();
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    await connection.quit();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());

  await app.listen({ host: '127.0.0.1', port: Number(env['PORT'] ?? 0) });
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`raw-api: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
