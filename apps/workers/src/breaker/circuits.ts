import type { Registry } from 'prom-client';
import { parseCircuitEvent } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { AnyRole } from '@taskyard/roles';
import { CircuitStore, readSharedCircuits, type RedisClient, type RoleQueues, type TaskyardKeys } from '@taskyard/store';
import type { Notifier } from '../notifier';
import { CircuitMetrics } from './circuit-metrics';
import { RoleCircuit, type Attempt } from './role-circuit';

/** How a processor runs its handler: through the role's circuit, or straight. */
export type AttemptGuard = (attempt: Attempt) => Promise<unknown>;

const UNGUARDED: AttemptGuard = (attempt) => attempt();

export interface CircuitsOptions {
  /** The roles this process runs. */
  roles: readonly AnyRole[];
  redis: RedisClient;
  keys: TaskyardKeys;
  queues: RoleQueues;
  logger: Logger;
  /** The worker's metrics registry. */
  registry: Registry;
  /** This replica's name (the worker name). */
  replica: string;
}

/**
 * The circuit breakers of one worker process: a RoleCircuit per role with a breaker, following
 * the other replicas through the breaker channel (on the process's notifier). A process without
 * such a role creates nothing: no subscription, no metrics, no timers.
 */
export class Circuits {
  private readonly circuits = new Map<string, RoleCircuit>();

  constructor(private readonly options: CircuitsOptions) {
    const guarded = options.roles.filter((role) => role.breaker);
    if (guarded.length === 0) return;
    const metrics = new CircuitMetrics(options.registry);
    for (const role of guarded) {
      const store = new CircuitStore({ redis: options.redis, keys: options.keys, queues: options.queues, role: role.name, replica: options.replica });
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

  /**
   * Follows the other replicas' transitions on the notifier, and takes up the shared state when
   * the notifier starts and after every reconnect (a replica that started or reconnected while open).
   */
  attach(notifier: Notifier): void {
    if (this.circuits.size === 0) return;
    const { keys, replica } = this.options;
    notifier.listen(
      keys.breakerChannel,
      (message) => {
        const event = parseCircuitEvent(message);
        if (!event || event.origin === replica) return;
        this.circuits.get(event.role)?.follow(event);
      },
      () => this.sync(),
    );
  }

  close(): void {
    for (const circuit of this.circuits.values()) circuit.shutdown();
  }

  /** Makes every local circuit agree with the shared records (a replica that started or reconnected while open). */
  private async sync(): Promise<void> {
    const { logger, redis } = this.options;
    try {
      const roles = [...this.circuits.keys()].map((name) => this.options.roles.find((role) => role.name === name)!);
      const shared = await readSharedCircuits(redis, this.options.keys, roles);
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
