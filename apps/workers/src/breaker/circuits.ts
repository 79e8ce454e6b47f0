import type { Registry } from 'prom-client';
import {
  createRedisConnection,
  parseCircuitEvent,
  readSharedCircuits,
  TaskyardKeys,
  type AnyRole,
  type Logger,
  type Redis,
  type RoleQueues,
} from '@taskyard/shared';
import { CircuitMetrics } from './circuit-metrics';
import { RoleCircuit, type Attempt } from './role-circuit';
import { SharedCircuitStore } from './shared-circuit-store';

/** How a processor runs its handler: through the role's circuit, or straight. */
export type AttemptGuard = (attempt: Attempt) => Promise<unknown>;

const UNGUARDED: AttemptGuard = (attempt) => attempt();

export interface CircuitsOptions {
  /** The roles this process runs. */
  roles: readonly AnyRole[];
  redis: Redis;
  redisUrl: string;
  queuePrefix: string;
  queues: RoleQueues;
  logger: Logger;
  /** The worker's metrics registry. */
  registry: Registry;
  /** This replica's name (the worker name). */
  replica: string;
}

/**
 * The circuit breakers of one worker process: a RoleCircuit per role with a breaker, and one
 * subscriber connection on the breaker channel through which they follow the other replicas.
 * A process without such a role creates nothing: no connection, no metrics, no timers.
 */
export class Circuits {
  private readonly circuits = new Map<string, RoleCircuit>();
  private readonly keys: TaskyardKeys;
  private subscriber: Redis | undefined;

  constructor(private readonly options: CircuitsOptions) {
    this.keys = new TaskyardKeys(options.queuePrefix);
    const guarded = options.roles.filter((role) => role.breaker);
    if (guarded.length === 0) return;
    const metrics = new CircuitMetrics(options.registry);
    for (const role of guarded) {
      const store = new SharedCircuitStore({
        redis: options.redis,
        keys: this.keys,
        role: role.name,
        limiterKey: options.queues.get(role.name).toKey('limiter'),
        replica: options.replica,
      });
      this.circuits.set(
        role.name,
        new RoleCircuit({
          role: role.name,
          breaker: role.breaker!,
          timeoutMs: role.timeoutMs,
          store,
          series: metrics.forRole(role.name),
          logger: options.logger.child({ role: role.name }),
          replica: options.replica,
        }),
      );
    }
  }

  /** What the role's processor runs its handler through. */
  guard(role: string): AttemptGuard {
    const circuit = this.circuits.get(role);
    return circuit ? (attempt) => circuit.run(attempt) : UNGUARDED;
  }

  /** Subscribes to the other replicas' transitions and takes up the shared state (again after every reconnect). */
  async start(): Promise<void> {
    if (this.circuits.size === 0) return;
    const { logger, redisUrl, replica } = this.options;
    const subscriber = createRedisConnection(redisUrl, 'worker', { name: `taskyard-worker:${replica}:circuits` });
    this.subscriber = subscriber;
    // The worker runtime logs outages; this connection only needs a listener.
    subscriber.on('error', (err) => logger.debug({ err }, 'circuit breaker subscriber error'));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.breakerChannel) return;
      const event = parseCircuitEvent(message);
      if (!event || event.origin === replica) return;
      this.circuits.get(event.role)?.follow(event);
    });
    // ioredis subscribes again after a reconnect; what was published meanwhile is read back here.
    subscriber.on('ready', () => void this.sync());
    await subscriber.subscribe(this.keys.breakerChannel);
    await this.sync();
  }

  async close(): Promise<void> {
    for (const circuit of this.circuits.values()) circuit.shutdown();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** Makes every local circuit agree with the shared records (a replica that started or reconnected while open). */
  private async sync(): Promise<void> {
    const { logger, redis } = this.options;
    try {
      const roles = [...this.circuits.keys()].map((name) => this.options.roles.find((role) => role.name === name)!);
      const shared = await readSharedCircuits(redis, this.keys, roles);
      for (const [role, record] of shared) {
        const circuit = this.circuits.get(role)!;
        if (record && circuit.current === 'closed') {
          circuit.follow({ role, to: 'open', until: record.until, origin: record.origin, reason: record.reason });
        } else if (!record && circuit.current !== 'closed') {
          circuit.follow({ role, to: 'closed', origin: 'shared state', reason: 'the shared circuit was closed meanwhile' });
        }
      }
    } catch (err) {
      logger.warn({ err }, 'could not read the shared circuit breaker state');
    }
  }
}
