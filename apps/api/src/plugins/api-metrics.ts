import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRIC } from '@taskyard/observability';
import type { RoleQueues, WorkerRegistry } from '@taskyard/store';

/** The API process's metrics: HTTP traffic, submissions, and queue depths computed on scrape. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly submitted: Counter<'role'>;
  /** Label children, resolved once per route and status or per role rather than on every request. */
  private readonly http = new Map<string, { requests: Counter.Internal; duration: Histogram.Internal<'method' | 'route' | 'status_code'> }>();
  private readonly submittedByRole = new Map<string, Counter.Internal>();

  constructor(queues: RoleQueues, workers?: WorkerRegistry) {
    collectDefaultMetrics({ register: this.registry, prefix: 'taskyard_api_' });
    this.httpRequests = new Counter({
      name: METRIC.httpRequests,
      help: 'HTTP requests served, by method, route and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: METRIC.httpDuration,
      help: 'HTTP request duration, by method, route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.submitted = new Counter({
      name: METRIC.tasksSubmitted,
      help: 'Tasks accepted by the API, by role',
      labelNames: ['role'],
      registers: [this.registry],
    });
    for (const role of queues.roles) this.submittedByRole.set(role, this.submitted.labels(role));
    new Gauge({
      name: METRIC.queueJobs,
      help: 'Jobs in each role queue, by state (read from Redis at scrape time)',
      labelNames: ['role', 'state'],
      registers: [this.registry],
      async collect() {
        // One round trip per role; a scrape during an outage reports no queue series rather than failing.
        const counts = await Promise.all(
          queues.roles.map(async (role) => ({ role, counts: await queues.counts(role).catch(() => undefined) })),
        );
        this.reset();
        for (const { role, counts: byState } of counts) {
          if (!byState) continue;
          for (const [state, count] of Object.entries(byState)) this.labels(role, state).set(count);
        }
      },
    });
    if (workers) {
      new Gauge({
        name: 'taskyard_workers',
        help: 'Live worker processes running each role (the worker registry, read at scrape time)',
        labelNames: ['role'],
        registers: [this.registry],
        async collect() {
          const live = await workers.live().catch(() => undefined);
          this.reset();
          if (!live) return;
          for (const role of queues.roles) this.labels(role).set(live.workers.filter((worker) => worker.roles.some((served) => served.name === role)).length);
        },
      });
    }
  }

  /** The request counter and duration histogram of one method, route and status. */
  httpSeries(method: string, route: string, statusCode: number): { requests: Counter.Internal; duration: Histogram.Internal<'method' | 'route' | 'status_code'> } {
    const key = `${method} ${statusCode} ${route}`;
    let series = this.http.get(key);
    if (!series) {
      const labels = [method, route, String(statusCode)] as const;
      series = { requests: this.httpRequests.labels(...labels), duration: this.httpDuration.labels(...labels) };
      this.http.set(key, series);
    }
    return series;
  }

  /** Counts tasks accepted for `role`. */
  countSubmitted(role: string, count = 1): void {
    (this.submittedByRole.get(role) ?? this.submitted.labels(role)).inc(count);
  }
}
