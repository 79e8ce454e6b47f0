import { TaskTimeoutError } from '@taskyard/contracts';
import type { AttemptAbort } from '../bullmq-worker';

/**
 * Step 5, the run: `work` under the role's timeout and the attempt's abort (BullMQ's processor
 * signal, which cancellations fire through worker.cancelJob). When `timeoutMs` passes, the
 * abort fires with a TaskTimeoutError, so every abort — timeout or cancellation — reaches the
 * handler the same way (`ctx.signal`). The attempt ends when the abort fires, with its reason,
 * even if the handler ignores it (it keeps running in the background until it notices), and
 * before the handler starts if the abort came first. A handler that rejects once the abort
 * fired (it rethrew the reason, or an AbortError) ends with the abort's reason too.
 */
export function runUnderTimeout<T>(timeoutMs: number, abort: AttemptAbort, work: () => Promise<T>): Promise<T> {
  if (abort.aborted) return Promise.reject(abort.reason);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => abort.abort(new TaskTimeoutError(timeoutMs)), timeoutMs);
    abort.onAbort((reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(reason);
    });
    let running: Promise<T>;
    try {
      running = work();
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abort.onAbort(undefined);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abort.onAbort(undefined);
        reject(abort.aborted ? abort.reason : err);
      },
    );
  });
}
