import { z } from 'zod';
import { RoleNameSchema } from './identifiers';

/** A live worker process, as it registers itself and heartbeats (GET /v1/workers). */
export const WorkerEntrySchema = z.object({
  /** `<host>:<pid>:<random>`: one per process start. */
  id: z.string().min(1).max(300),
  host: z.string().max(255),
  pid: z.number().int(),
  /** The roles it runs, each with its concurrency (jobs at once in this process). */
  roles: z.array(z.object({ name: RoleNameSchema, concurrency: z.number().int() })),
  /** Jobs at once in this process, over every role. */
  concurrency: z.number().int(),
  version: z.string().max(64),
  startedAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  /** Tasks running now, and attempts finished since it started (completed / failed, retries included). */
  active: z.number().int(),
  processed: z.number().int(),
  failed: z.number().int(),
});
export type WorkerEntry = z.infer<typeof WorkerEntrySchema>;

export const WorkerListSchema = z.object({ items: z.array(WorkerEntrySchema) });
