import { TaskTimeoutError } from '@taskyard/contracts';

/**
 * Step 5, the run: `work` under the role's timeout and the attempt's signal (BullMQ's processor
 * signal). When `timeoutMs` passes, `abort` is asked to fire the signal with a TaskTimeoutError
 * (worker.cancelJob), so every abort — timeout or cancellation — reaches the handler the same
 * way. The attempt ends when the signal fires, with its reason, even if the handler ignores it
 * (it keeps running in the background until it notices), and before the handler starts if the
 * signal fired first. A handler that rethrows the abort reason, or an AbortError, ends with the
 * reason too.
 */
export function runUnderTimeout<T>(timeoutMs: number, signal: AbortSignal, abort: (reason: Error) => void, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal.reason as unknown));
    const timer = setTimeout(() => {
      const timedOut = new TaskTimeoutError(timeoutMs);
      abort(timedOut);
      // The signal fired (and onAbort settled) unless the abort did not reach it.
      if (!signal.aborted) finish(() => reject(timedOut));
    }, timeoutMs);
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let running: Promise<T>;
    try {
      running = work();
    } catch (err) {
      return finish(() => reject(err));
    }
    running.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(signal.aborted ? (signal.reason as unknown) : err)),
    );
  });
}
