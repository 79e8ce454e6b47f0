import { expect } from 'vitest';
import type { ApiServer } from '../support/api-server';
import { waitFor } from '../support/wait-for';
import type { LogLine, WorkerProcess } from '../support/worker-process';

export { metricValue, waitForState } from '../api/helpers';

/** Worker settings that make a dead worker's jobs come back within seconds. */
export const FAST_RECOVERY = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000' } as const;

/** A processor log line about `taskId` with message `msg` (needs LOG_LEVEL=debug for 'task started'). */
export function taskLine(taskId: string, msg: string): (line: LogLine) => boolean {
  return (line) => line['taskId'] === taskId && line.msg === msg;
}

/** The stall line a worker writes when it puts a job back in the queue. */
export function isStallLine(line: LogLine): boolean {
  return typeof line.msg === 'string' && line.msg.includes('stalled');
}

/** Waits until one of `workers` logs that it started `taskId`; returns that worker. */
export async function holderOf(taskId: string, workers: WorkerProcess[], timeoutMs = 20_000): Promise<WorkerProcess> {
  return waitFor(`a worker to start task ${taskId}`, () => workers.find((worker) => worker.logs.some(taskLine(taskId, 'task started'))), {
    timeoutMs,
  });
}

/**
 * The log contract: every stdout line is JSON, and every line about a task carries its task id,
 * role and correlation id (`correlationIds` maps task id → the correlation id it was given).
 */
export function expectJobLogContext(worker: WorkerProcess, correlationIds: Record<string, string>): void {
  expect(worker.nonJsonLines).toEqual([]);
  for (const line of worker.logs.filter((entry) => typeof entry['taskId'] === 'string' && entry['taskId'] in correlationIds)) {
    expect(line, `log line "${line.msg}"`).toMatchObject({
      role: 'echo',
      taskId: line['taskId'],
      correlationId: correlationIds[line['taskId'] as string],
      level: expect.any(String),
      time: expect.any(String),
    });
  }
}

export interface SubmitOutcome {
  status: number;
  id?: string;
  code?: string;
  retryAfter?: string | null;
  /** Set when no response came back (the request hung past its bound or the connection failed). */
  failure?: string;
}

/**
 * POST /v1/tasks that never throws: a request without an answer within `hangAfterMs` is
 * recorded as a failure (a hang) instead of blocking the test.
 */
export async function trySubmit(api: ApiServer, body: unknown, hangAfterMs = 20_000): Promise<SubmitOutcome> {
  try {
    const response = await fetch(`${api.baseUrl}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.config.apiKeys[0]!.secret}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(hangAfterMs),
    });
    const parsed = (await response.json().catch(() => undefined)) as { id?: string; error?: { code?: string } } | undefined;
    return {
      status: response.status,
      ...(parsed?.id ? { id: parsed.id } : {}),
      ...(parsed?.error?.code ? { code: parsed.error.code } : {}),
      retryAfter: response.headers.get('retry-after'),
    };
  } catch (err) {
    return { status: 0, failure: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/**
 * Waits until every task in `ids` is completed, polling only the ones not yet done; stops early
 * and fails naming any task that ended failed.
 */
export async function waitAllCompleted(api: ApiServer, ids: Iterable<string>, timeoutMs = 45_000): Promise<void> {
  const pending = new Set(ids);
  const failed: unknown[] = [];
  try {
    await waitFor(
      'every accepted task to complete',
      async () => {
        for (const id of [...pending]) {
          const view = await api.task(id);
          if (view?.state === 'completed') pending.delete(id);
          else if (view?.state === 'failed') failed.push({ id, error: view.error, history: view.history });
        }
        return pending.size === 0 || failed.length > 0;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    const example = [...pending][0]!;
    throw new Error(`${String(err)}; ${pending.size} not completed, e.g. ${example}: ${JSON.stringify(await api.task(example))}`);
  }
  expect(failed, 'tasks that ended failed').toEqual([]);
}
