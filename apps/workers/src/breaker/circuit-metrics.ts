import { Counter, Gauge, type Registry } from 'prom-client';
import type { CircuitState } from '@taskyard/contracts';
import { METRIC } from '@taskyard/observability';

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];

/** One role's circuit series, resolved once. */
export interface CircuitSeries {
  /** This replica's view: 0 closed, 1 half-open, 2 open (CIRCUIT_GAUGE_VALUE). */
  readonly state: ReturnType<Gauge<'role'>['labels']>;
  /** Transitions this replica made happen (it tripped, claimed the probe, or its probe decided). */
  readonly transitions: Readonly<Record<CircuitState, ReturnType<Counter<'role' | 'to'>['labels']>>>;
  /** Jobs this replica fetched while the circuit was not closed and handed back unstarted. */
  readonly handBacks: ReturnType<Counter<'role'>['labels']>;
}

/**
 * The circuit breaker metrics of a worker process, registered only when one of its roles has a
 * breaker. A transition is counted once, by the replica that made it, so summing over replicas
 * counts the circuit's transitions; the gauge is per replica (each follows the shared state).
 */
export class CircuitMetrics {
  private readonly state: Gauge<'role'>;
  private readonly transitions: Counter<'role' | 'to'>;
  private readonly handBacks: Counter<'role'>;

  constructor(registry: Registry) {
    this.state = new Gauge({
      name: METRIC.circuitState,
      help: "A role's circuit breaker as this replica sees it: 0 closed, 1 half-open, 2 open",
      labelNames: ['role'],
      registers: [registry],
    });
    this.transitions = new Counter({
      name: METRIC.circuitTransitions,
      help: 'Circuit breaker transitions this replica made (tripped, claimed the probe, or decided it), by role and new state',
      labelNames: ['role', 'to'],
      registers: [registry],
    });
    this.handBacks = new Counter({
      name: METRIC.circuitHandBacks,
      help: 'Jobs handed back to the queue unstarted (no attempt spent) because the circuit was not closed, by role',
      labelNames: ['role'],
      registers: [registry],
    });
  }

  /** Resolves a role's series; they exist at zero from the start. */
  forRole(role: string): CircuitSeries {
    const transitions = Object.fromEntries(STATES.map((to) => [to, this.transitions.labels(role, to)])) as Record<
      CircuitState,
      ReturnType<Counter<'role' | 'to'>['labels']>
    >;
    const series: CircuitSeries = { state: this.state.labels(role), transitions, handBacks: this.handBacks.labels(role) };
    series.state.set(0);
    for (const counter of [...Object.values(transitions), series.handBacks]) counter.inc(0);
    return series;
  }
}
