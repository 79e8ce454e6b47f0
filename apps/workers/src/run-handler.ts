import { TaskTimeoutError } from '@taskyard/shared';

/**
 * An abort from outside the attempt (a cancellation): `onAbort` calls `listener` with the reason
 * when it comes, or at once if it already came.
 */
export interface ExternalAbort {
  onAbort(listener: (reason: Error) => void): void;
}

/**
 * Runs `work` under a deadline: the attempt ends with a TaskTimeoutError after `timeoutMs` even
 * if the handler ignores its signal, so a stuck handler cannot hold its slot forever (it keeps
 * running in the background until it notices). The AbortSignal is made on first use only: most
 * handlers never look at it, and an AbortController per task shows in the worker's profile.
 * An `external` abort ends the attempt the same way, with its own reason, and before the handler
 * starts if it came first.
 */
export function runWithTimeout<T>(timeoutMs: number, work: (signal: () => AbortSignal) => Promise<T>, external?: ExternalAbort): Promise<T> {
  let controller: AbortController | undefined;
  let timedOut: Error | undefined;
  const signal = () => {
    controller ??= new AbortController();
    if (timedOut && !controller.signal.aborted) controller.abort(timedOut);
    return controller.signal;
  };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = new TaskTimeoutError(timeoutMs);
      controller?.abort(timedOut);
      reject(timedOut);
    }, timeoutMs);
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      outcome();
    };
    // The attempt's owner drops the listener with the attempt; a listener left here is harmless.
    external?.onAbort((reason) => {
      timedOut ??= reason;
      controller?.abort(timedOut);
      settle(() => reject(timedOut));
    });
    if (timedOut) return;
    let running: Promise<T>;
    try {
      running = work(signal);
    } catch (err) {
      return settle(() => reject(err));
    }
    // A handler that rethrows the abort reason, or an AbortError from a timer, is a timeout too.
    running.then(
      (value) => settle(() => resolve(value)),
      (err: unknown) => settle(() => reject(timedOut ?? err)),
    );
  });
}
