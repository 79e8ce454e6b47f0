import {
  newBroadcastId,
  signedBroadcastContent,
  type BroadcastContent,
  type BroadcastList,
  type BroadcastView,
  type BuiltInBroadcastPayload,
  type CreateBroadcastBody,
  type WorkerEntry,
} from '@taskyard/contracts';
import type { MessageSigner } from '@taskyard/crypto';
import { checkBroadcast, type CheckedBroadcast, type RoleRegistry } from '@taskyard/roles';
import { decodeBroadcastCursor, encodeBroadcastCursor, type BroadcastStore, type RedisClient, type RoleQueues, type WorkerRegistry } from '@taskyard/store';
import { ApiError } from '../../errors/api-error';
import { withRedis } from '../../errors/redis-guard';

export interface BroadcastsDeps {
  registry: RoleRegistry;
  store: BroadcastStore;
  queues: RoleQueues;
  workers: WorkerRegistry;
  signer: MessageSigner;
  redis: RedisClient;
}

type Accepted = Extract<CheckedBroadcast, { ok: true }>;

/**
 * Broadcasts (POST/GET /v1/broadcasts): an instruction to every live worker process, each of
 * which acknowledges it. The API checks it against its type (a built-in's schema, or the schemas
 * of the roles that handle it), applies what must outlive the broadcast itself — a paused or
 * resumed queue, a stored log level — so a worker that starts later follows too, then names the
 * workers that should answer (the registry's live ones), signs it, stores it and announces it.
 */
export class Broadcasts {
  constructor(private readonly deps: BroadcastsDeps) {}

  async create(body: CreateBroadcastBody): Promise<BroadcastContent> {
    const { registry, store, signer, redis } = this.deps;
    const checked = checkBroadcast(registry.all(), body.type, body.payload);
    if (!checked.ok) throw new ApiError(checked.code, checked.message, checked.issues);
    return withRedis(redis, async () => {
      const { workers } = await this.deps.workers.live();
      const expected = expectedOf(checked, workers);
      await this.applyState(checked);
      const content: BroadcastContent = { id: newBroadcastId(), type: checked.type, payload: checked.payload, createdAt: new Date().toISOString(), expected };
      await store.create({ ...content, signature: signer.sign(signedBroadcastContent(content)) });
      return content;
    });
  }

  async get(id: string): Promise<BroadcastView> {
    const view = await withRedis(this.deps.redis, () => this.deps.store.view(id));
    if (!view) throw new ApiError('NOT_FOUND', `no broadcast "${id}" (unknown, or past BROADCAST_RETENTION)`);
    return view;
  }

  async list(limit: number, cursor: string | undefined): Promise<BroadcastList> {
    const after = cursor === undefined ? undefined : decodeBroadcastCursor(cursor);
    if (cursor !== undefined && !after) throw new ApiError('VALIDATION_FAILED', 'cursor: not a cursor this API gave', [{ field: 'cursor', message: 'unknown cursor' }]);
    const { items, last } = await withRedis(this.deps.redis, () => this.deps.store.list(limit, after));
    return { items, nextCursor: last === undefined ? null : encodeBroadcastCursor(last) };
  }

  /** What a built-in type changes for good, before any worker hears of it (and whatever the workers do). */
  private async applyState(checked: Accepted): Promise<void> {
    if (checked.kind !== 'built-in') return;
    const { queues, store } = this.deps;
    switch (checked.type) {
      case 'pause-role':
        return queues.pause((checked.payload as BuiltInBroadcastPayload<'pause-role'>).role);
      case 'resume-role':
        return queues.resume((checked.payload as BuiltInBroadcastPayload<'resume-role'>).role);
      case 'set-log-level': {
        const { level, role } = checked.payload as BuiltInBroadcastPayload<'set-log-level'>;
        return store.setLogLevel(level, role);
      }
      case 'drain':
        return;
    }
  }
}

/**
 * The workers that should acknowledge: the live ones; for a role's own type those running a role
 * that handles it; for a drain naming workers, those (each must be live: 400 otherwise).
 */
function expectedOf(checked: Accepted, workers: readonly WorkerEntry[]): string[] {
  if (checked.kind === 'custom') {
    const handling = new Set(checked.roles);
    return workers.filter((worker) => worker.roles.some((role) => handling.has(role.name))).map((worker) => worker.id);
  }
  const named = checked.type === 'drain' ? (checked.payload as BuiltInBroadcastPayload<'drain'>).workerIds : undefined;
  if (named === undefined) return workers.map((worker) => worker.id);
  const live = new Set(workers.map((worker) => worker.id));
  const unknown = named.map((id, index) => ({ id, index })).filter(({ id }) => !live.has(id));
  if (unknown.length > 0) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `payload.workerIds: not a live worker (GET /v1/workers): ${unknown.map(({ id }) => `"${id}"`).join(', ')}`,
      unknown.map(({ index }) => ({ field: `payload.workerIds.${index}`, message: 'not a live worker' })),
    );
  }
  return [...new Set(named)];
}
