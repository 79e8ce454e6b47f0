import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRIC } from '@taskyard/observability';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * A worker process's metrics. Label children are resolved once per role and reused, so
 * recording a task allocates nothing.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly processed: Counter<'role' | 'outcome'>;
  private readonly duration: Histogram<'role'>;
  private readonly active: Gauge<'role'>;
  private readonly stalled: Counter<'role'>;
  private readonly deadLetters: Counter<'role'>;
  private readonly duplicatesSkipped: Counter<'role'>;
  private readonly messagesRefused: Counter<'role' | 'reason'>;
  private readonly perRole = new Map<string, RoleSeries>();
  private readonly batchSizes: Histogram<'role'>;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    collectDefaultMetrics({ register: this.registry, prefix: 'taskyard_worker_' });
    this.processed = new Counter({
      name: METRIC.tasksProcessed,
      help: 'Task attempts finished, by role and outcome (completed, failed, retried, cancelled, snoozed, deferred: a fair role\'s tenant at its limit)',
      labelNames: ['role', 'outcome'],
      registers: [this.registry],
    });
    this.batchSizes = new Histogram({
      name: 'taskyard_batch_size',
      help: "Messages in each batch a batch role's handler got, by role",
      labelNames: ['role'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: METRIC.taskDuration,
      help: 'Time a task attempt spent in its handler, by role',
      labelNames: ['role'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.active = new Gauge({
      name: METRIC.tasksActive,
      help: 'Task attempts running now in this process, by role',
      labelNames: ['role'],
      registers: [this.registry],
    });
    this.stalled = new Counter({
      name: METRIC.tasksStalled,
      help: 'Jobs this worker found stalled (their worker died or lost its lock) and put back, by role',
      labelNames: ['role'],
      registers: [this.registry],
    });
    this.deadLetters = new Counter({
      name: METRIC.deadLetters,
      help: 'Tasks that failed for good and were kept as dead letters, by role',
      labelNames: ['role'],
      registers: [this.registry],
    });
    this.duplicatesSkipped = new Counter({
      name: METRIC.duplicatesSkipped,
      help: 'Deliveries of an already completed message answered from the ledger without running the handler, by role',
      labelNames: ['role'],
      registers: [this.registry],
    });
    this.messagesRefused = new Counter({
      name: METRIC.messagesRefused,
      help: 'Messages refused before any handler saw them (forged, altered, not the job\'s, too old, from the future, from a sender the role does not accept), by role and reason',
      labelNames: ['role', 'reason'],
      registers: [this.registry],
    });
  }

  /** Resolves a role's label children once; call at worker start so series exist at zero. */
  /** The batch sizes of a batch role. */
  batchSize(role: string): ReturnType<Histogram<'role'>['labels']> {
    return this.batchSizes.labels(role);
  }

  forRole(role: string): RoleSeries {
    let series = this.perRole.get(role);
    if (!series) {
      series = {
        completed: this.processed.labels(role, 'completed'),
        failed: this.processed.labels(role, 'failed'),
        retried: this.processed.labels(role, 'retried'),
        cancelled: this.processed.labels(role, 'cancelled'),
        snoozed: this.processed.labels(role, 'snoozed'),
        deferred: this.processed.labels(role, 'deferred'),
        duplicatesSkipped: this.duplicatesSkipped.labels(role),
        duration: this.duration.labels(role),
        active: this.active.labels(role),
        stalled: this.stalled.labels(role),
        deadLettered: this.deadLetters.labels(role),
        refused: (reason) => this.messagesRefused.labels(role, reason).inc(),
      };
      // labels() alone does not create a series: without these a counter stays absent until
      // its first increment, and rate()/increase() miss that increment.
      for (const counter of [series.completed, series.failed, series.retried, series.stalled, series.deadLettered, series.cancelled, series.snoozed, series.deferred, series.duplicatesSkipped]) counter.inc(0);
      series.active.set(0);
      this.duration.zero({ role });
      this.perRole.set(role, series);
    }
    return series;
  }
}

export interface RoleSeries {
  readonly completed: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  readonly failed: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  readonly retried: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  /** Attempts ended by a cancellation (aborted, or found cancelled in the ledger). */
  readonly cancelled: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  /** Attempts that snoozed (ran again later without spending an attempt). */
  readonly snoozed: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  /** Deliveries a fair role's tenant limit sent back to the queue before the handler ran (no attempt spent). */
  readonly deferred: ReturnType<Counter<'role' | 'outcome'>['labels']>;
  readonly duplicatesSkipped: ReturnType<Counter<'role'>['labels']>;
  readonly duration: ReturnType<Histogram<'role'>['labels']>;
  readonly active: ReturnType<Gauge<'role'>['labels']>;
  readonly stalled: ReturnType<Counter<'role'>['labels']>;
  readonly deadLettered: ReturnType<Counter<'role'>['labels']>;
  /** A message refused before its handler ran, by its error code (MESSAGE_REFUSAL_CODES). */
  readonly refused: (reason: string) => void;
}
