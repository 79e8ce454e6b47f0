import { TaskTimeoutError } from '@taskyard/shared';

/**
 * Runs `work` with an AbortSignal that fires after `timeoutMs`. The attempt ends with a
 * TaskTimeoutError at the deadline even if the handler ignores its signal, so a stuck handler
 * cannot hold its slot forever (it keeps running in the background until it notices).
 */
export async function runWithTimeout<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TaskTimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } catch (err) {
    // A handler that rethrows the abort reason, or an AbortError from a timer, is a timeout too.
    if (controller.signal.aborted) throw controller.signal.reason as Error;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
