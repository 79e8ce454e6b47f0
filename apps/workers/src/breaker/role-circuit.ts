import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { CIRCUIT_GAUGE_VALUE, errorClassOf, type Breaker, type CircuitEvent, type CircuitState } from '@taskyard/contracts';
import type { Logger } from '@taskyard/observability';
import type { CircuitStore } from '@taskyard/store';
import { EffectInProgressError } from '../once/run-once';
import type { CircuitSeries } from './circuit-metrics';
import { handBackDelayMs, handBackError, probeWaitMs } from './hand-back';

/** One handler run (the role's handler under its timeout). */
export type Attempt = () => Promise<unknown>;

/** The buckets of opossum's rolling window (its default). */
const WINDOW_BUCKETS = 10;
/** How long the probe lock outlives the role's timeout: a probe whose replica died frees the lock after this. */
const PROBE_LOCK_MARGIN_MS = 5000;

export interface RoleCircuitOptions {
  role: string;
  breaker: Breaker;
  /** The role's handler timeout: a probe holds the lock at most this long (plus a margin). */
  timeoutMs: number;
  store: CircuitStore;
  series: CircuitSeries;
  /** The role's logger. */
  logger: Logger;
  /** This replica's name. */
  replica: string;
}

/**
 * Only transient failures say something about the downstream; a permanent one (incl. a
 * cancellation) is the task's own business, and EFFECT_IN_PROGRESS is another attempt of the same
 * task still holding its `ctx.once` claim.
 */
export function countsAgainstCircuit(err: unknown): boolean {
  return errorClassOf(err) === 'transient' && !(err instanceof EffectInProgressError);
}

/** opossum's options for a role's breaker (timeouts are the role's own, enforced by runWithTimeout). */
export function opossumOptions(breaker: Breaker, rotation: EventEmitter): CircuitBreaker.Options<[Attempt]> {
  return {
    errorThresholdPercentage: breaker.errorThresholdPercentage,
    volumeThreshold: breaker.volumeThreshold,
    resetTimeout: breaker.resetTimeoutMs,
    rollingCountTimeout: breaker.rollingWindowMs,
    rollingCountBuckets: WINDOW_BUCKETS,
    timeout: false,
    // A permanent error (bad input, a cancelled task) reaches opossum as a success: the downstream answered.
    errorFilter: (err: unknown) => !countsAgainstCircuit(err),
    // We rotate the window ourselves, so a closing circuit can start from an empty one.
    rotateBucketController: rotation,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
  };
}

/**
 * A role's circuit breaker in one worker process: an opossum CircuitBreaker around each handler
 * run, kept in step with the role's shared circuit in Redis.
 *
 * - closed: runs go through opossum, which counts transient failures in its rolling window and
 *   opens when the role's thresholds are crossed. This replica then opens the shared circuit
 *   (CircuitStore.open: record + queue limiter + event), and every other replica follows.
 * - open: no replica fetches the role's jobs (the limiter); a job fetched in the moment before
 *   is handed back unstarted, its attempt not spent.
 * - half-open (opossum's reset timer): the first replica to claim the probe lock, once the shared
 *   open period has passed, runs one task; the others hand theirs back. The probe's success
 *   closes the circuit everywhere, its failure reopens it everywhere.
 *
 * Transitions another replica made arrive through follow(): opossum's open()/close() are called
 * with `following` set, so this replica logs them and updates its gauge but does not publish
 * them back. Closed runs cost no Redis command: the hot path is one opossum fire().
 */
export class RoleCircuit {
  private readonly breaker: CircuitBreaker<[Attempt], unknown>;
  private readonly rotation = new EventEmitter();
  private readonly rotationTimer: NodeJS.Timeout;
  /** This replica's view of the circuit (the gauge), set by opossum's events. */
  private state: CircuitState = 'closed';
  /** End of the current open period (epoch ms), from this replica or the one that opened it. */
  private until = 0;
  /** When opossum's reset timer in this replica turns it half-open (epoch ms). */
  private halfOpenAt = 0;
  /** True while this replica's probe runs. */
  private probing = false;
  /** Set while applying another replica's transition. */
  private following: { origin: string; reason: string } | undefined;

  constructor(private readonly options: RoleCircuitOptions) {
    const { breaker } = options;
    this.breaker = new CircuitBreaker((attempt: Attempt) => attempt(), opossumOptions(breaker, this.rotation));
    this.rotationTimer = setInterval(() => this.rotation.emit('rotate'), Math.max(1, Math.floor(breaker.rollingWindowMs / WINDOW_BUCKETS)));
    this.rotationTimer.unref();
    this.breaker.on('open', () => this.onOpen());
    this.breaker.on('halfOpen', () => this.enter('half-open', 'the reset timeout passed', this.options.replica));
    this.breaker.on('close', () => this.onClose());
    options.series.state.set(CIRCUIT_GAUGE_VALUE.closed);
  }

  get role(): string {
    return this.options.role;
  }

  /** This replica's view of the circuit. */
  get current(): CircuitState {
    return this.state;
  }

  /** Runs `attempt` if the circuit lets it, else hands the job back (rejects with BullMQ's RateLimitError). */
  run(attempt: Attempt): Promise<unknown> {
    if (this.breaker.closed) return this.breaker.fire(attempt);
    return this.runWhileNotClosed(attempt);
  }

  /** Applies a transition another replica made (from the breaker channel or the shared record). */
  follow(event: CircuitEvent): void {
    this.following = { origin: event.origin, reason: event.reason };
    try {
      if (event.to === 'open') {
        this.until = event.until;
        this.breaker.open();
      } else {
        this.breaker.close();
      }
    } finally {
      this.following = undefined;
    }
  }

  shutdown(): void {
    clearInterval(this.rotationTimer);
    this.breaker.shutdown();
  }

  private async runWhileNotClosed(attempt: Attempt): Promise<unknown> {
    const { store, logger } = this.options;
    const probeWait = probeWaitMs(this.options.breaker.resetTimeoutMs);
    if (this.breaker.opened) return this.handBack(handBackDelayMs({ circuit: 'open', until: this.until, halfOpenAt: this.halfOpenAt }, Date.now(), probeWait));
    // Half-open with this replica's probe already running.
    if (this.probing || !this.breaker.pendingClose) return this.handBack(handBackDelayMs({ circuit: 'probing' }, Date.now(), probeWait));
    const claim = await store.claimProbe(this.options.timeoutMs + PROBE_LOCK_MARGIN_MS);
    // The state may have moved while the claim was on its way.
    if (this.breaker.closed || !claim.claimed || !this.breaker.pendingClose) {
      if (claim.claimed) await store.releaseProbe().catch((err: unknown) => logger.warn({ err }, 'could not release the circuit probe lock'));
      if (this.breaker.closed) return this.breaker.fire(attempt);
      // Refused while the shared open period lasts (a reopen this replica has not heard of yet): wait it out.
      const now = Date.now();
      const handBack = !claim.claimed && claim.until > now ? ({ circuit: 'open', until: claim.until, halfOpenAt: now } as const) : ({ circuit: 'probing' } as const);
      return this.handBack(handBackDelayMs(handBack, now, probeWait));
    }
    this.options.series.transitions['half-open'].inc();
    logger.info({ origin: this.options.replica }, 'circuit half-open: this replica runs the probe');
    this.probing = true;
    try {
      return await this.probe(attempt);
    } finally {
      this.probing = false;
    }
  }

  /**
   * Runs the probe outside opossum, which would take a permanent error (filtered) for a success
   * and close the circuit on a task that never reached the downstream (a cancelled probe, bad
   * input). Success closes the circuit everywhere, a transient failure reopens it, and a neutral
   * outcome leaves it half-open with the probe lock freed for the next task.
   */
  private async probe(attempt: Attempt): Promise<unknown> {
    let result: unknown;
    try {
      result = await attempt();
    } catch (err) {
      if (countsAgainstCircuit(err)) this.breaker.open();
      else await this.options.store.releaseProbe().catch((releaseErr: unknown) => this.options.logger.warn({ err: releaseErr }, 'could not release the circuit probe lock'));
      throw err;
    }
    this.breaker.close();
    return result;
  }

  /** Sends the job back unstarted and keeps every replica off the queue for `ms`. */
  private async handBack(ms: number): Promise<never> {
    this.options.series.handBacks.inc();
    // If Redis refuses, the job still goes back: the worst case is an early fetch and another hand back.
    await this.options.store.holdQueue(ms).catch((err: unknown) => this.options.logger.warn({ err }, 'could not hold the queue while the circuit is open'));
    throw handBackError();
  }

  private onOpen(): void {
    this.halfOpenAt = Date.now() + this.options.breaker.resetTimeoutMs;
    if (this.following) return this.enter('open', this.following.reason, this.following.origin);
    const { breaker, store, logger, replica, series } = this.options;
    const openedAt = Date.now();
    this.until = openedAt + breaker.resetTimeoutMs;
    const stats = this.breaker.stats;
    const reason =
      this.state === 'half-open'
        ? this.probing
          ? 'the probe failed'
          : 'a task failed while half-open'
        : `${stats.failures} of ${stats.fires} runs failed within ${breaker.rollingWindowMs} ms`;
    series.transitions.open.inc();
    this.enter('open', reason, replica);
    store
      .open({ openedAt, until: this.until, origin: replica, reason })
      .catch((err: unknown) => logger.error({ err }, 'could not open the circuit for the other replicas'));
  }

  private onClose(): void {
    // A closed circuit starts counting afresh: failures from before it opened say nothing now.
    for (let bucket = 0; bucket < WINDOW_BUCKETS; bucket++) this.rotation.emit('rotate');
    this.until = 0;
    if (this.following) return this.enter('closed', this.following.reason, this.following.origin);
    const { store, logger, replica, series } = this.options;
    const reason = this.probing ? 'the probe succeeded' : 'a task succeeded while half-open';
    series.transitions.closed.inc();
    this.enter('closed', reason, replica);
    store.close(reason).catch((err: unknown) => logger.error({ err }, 'could not close the circuit for the other replicas'));
  }

  /** Records a change of this replica's view: gauge and one log line. */
  private enter(to: CircuitState, reason: string, origin: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.options.series.state.set(CIRCUIT_GAUGE_VALUE[to]);
    const fields = { from, to, reason, origin, ...(to === 'open' ? { until: new Date(this.until).toISOString() } : {}) };
    this.options.logger[to === 'open' ? 'warn' : 'info'](fields, `circuit ${from} -> ${to}`);
  }
}
