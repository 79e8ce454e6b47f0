import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { JobsOptions } from 'bullmq';
import type { Retention } from './sides';

/** What the bench needs of a build under test: how its API makes an echo message, and where its queue is. */
export interface BuildLib {
  signer(keys: { id: string; secret: string }[]): unknown;
  createMessage(input: { role: string; payload: unknown; source: string }, signer: unknown): { id: string };
  jobOptionsFor(role: unknown, messageId: string, retention: Retention): JobsOptions;
  echoRole: { name: string; attempts: number; timeoutMs: number; backoff: { delayMs: number; jitter: number } };
  /** Older builds take `worker` only; newer ones also the record lifetimes that cap the TTL (extra members are ignored by the old). */
  ledgerTimings:
    | ((
        role: unknown,
        attempts: number,
        config: { worker: { lockDurationMs: number; stalledIntervalMs: number }; retention?: { ageSeconds: number; count: number }; deadLetterTtlMs?: number; idempotencyTtlMs?: number },
      ) => { ttlMs: number })
    | undefined;
  /** The BullMQ prefix of a role's queue in a deployment with QUEUE_PREFIX `prefix` (its name is the role's). */
  queuePrefix(prefix: string, role: string): string;
  /** How long after its last task the search index's sweep has taken them all out (0: a build without one). */
  indexSettleMs: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a build of any checkout, typed by what the bench calls */
/**
 * The compiled libs of the checkout at `root`: this one's (one lib per concern, each role's queue
 * under a prefix with its hash tag) or an older one's (`libs/shared`, one prefix), so an A/B of builds
 * (--taskyard-root, cpu-per-task.ts --variant) can measure either against the same raw BullMQ.
 */
export function loadBuild(root: string): BuildLib {
  const load = createRequire(resolve(root, 'package.json'));
  const shared = resolve(root, 'libs/shared/dist/index.js');
  if (existsSync(shared)) {
    const lib = load(shared) as any;
    return {
      signer: (keys) => new lib.MessageSigner(keys),
      createMessage: lib.createMessage,
      jobOptionsFor: lib.jobOptionsFor,
      echoRole: lib.echoRole,
      ledgerTimings: lib.ledgerTimings,
      queuePrefix: (prefix) => prefix,
      indexSettleMs: 0,
    };
  }
  const crypto = load(resolve(root, 'libs/crypto/dist/index.js')) as any;
  const store = load(resolve(root, 'libs/store/dist/index.js')) as any;
  const roles = load(resolve(root, 'libs/example-roles/dist/index.js')) as any;
  return {
    signer: (keys) => new crypto.MessageSigner(keys),
    createMessage: crypto.createMessage,
    jobOptionsFor: store.jobOptionsFor,
    echoRole: roles.echoRole,
    ledgerTimings: store.ledgerTimings,
    queuePrefix: (prefix, role) => new store.TaskyardKeys(prefix).queuePrefix(role),
    indexSettleMs: typeof store.INDEX_SETTLE_MS === 'number' ? store.INDEX_SETTLE_MS : 0,
  };
}
