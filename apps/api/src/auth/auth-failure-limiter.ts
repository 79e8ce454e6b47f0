/** Addresses tracked at once; past it the oldest window is forgotten (memory stays bounded under a spray of addresses). */
const MAX_ADDRESSES = 50_000;
const WINDOW_MS = 60_000;

/**
 * Failed authentications per client address, in fixed one-minute windows, in this process:
 * past the limit an address is refused (429) before its key is even looked up, so guessing keys
 * costs the guesser a minute per `limit` tries. Per API process (an attacker spread over N
 * replicas gets N × limit), which keeps a refusal free of Redis.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { startedAt: number; failures: number }>();

  constructor(
    /** Failures per minute per address; 0 turns the limiter off. */
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `address` may try again, or 0 when it may try now. */
  blockedFor(address: string): number {
    if (this.limit === 0) return 0;
    const window = this.windows.get(address);
    if (!window) return 0;
    const elapsed = this.now() - window.startedAt;
    if (elapsed >= WINDOW_MS) {
      this.windows.delete(address);
      return 0;
    }
    return window.failures >= this.limit ? Math.ceil((WINDOW_MS - elapsed) / 1000) : 0;
  }

  failed(address: string): void {
    if (this.limit === 0) return;
    const now = this.now();
    const window = this.windows.get(address);
    if (window && now - window.startedAt < WINDOW_MS) {
      window.failures += 1;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= MAX_ADDRESSES) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(address, { startedAt: now, failures: 1 });
  }
}
