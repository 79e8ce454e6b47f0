import { expect } from 'vitest';
import type { ApiClient } from '../support/api-client';
import { waitFor } from '../support/wait-for';

/** Waits until GET /v1/tasks/:id reports `state` and returns that view. */
export function waitForState(api: ApiClient, id: string, state: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `task ${id} to be ${state}`,
    async () => {
      const view = await api.task(id);
      return view?.state === state ? view : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Asserts the error contract: the status and `{ error: { code, message, details? } }` with nothing else. */
export function expectError(response: { status: number; body: any }, status: number, code: string): any {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(typeof response.body.error.message).toBe('string');
  expect(response.body.error.message.length).toBeGreaterThan(0);
  for (const key of Object.keys(response.body.error)) expect(['code', 'message', 'details']).toContain(key);
  return response.body.error;
}

/**
 * The value of one Prometheus series in a text exposition, or undefined when the series is
 * absent. `labels` must all match; other labels on the line are ignored.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/i.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/\b(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Every role's queue counts summed over all roles and states (GET /v1/roles). */
export async function totalJobs(api: ApiClient): Promise<number> {
  const response = await api.request('GET', '/v1/roles');
  expect(response.status).toBe(200);
  let total = 0;
  for (const role of response.body.roles as { counts: Record<string, number> }[]) {
    for (const count of Object.values(role.counts)) total += count;
  }
  return total;
}

/** A role's queue counts (GET /v1/roles). */
export async function roleCounts(api: ApiClient, role: string): Promise<Record<string, number>> {
  const response = await api.request('GET', '/v1/roles');
  expect(response.status).toBe(200);
  const found = (response.body.roles as { name: string; counts: Record<string, number> }[]).find((entry) => entry.name === role);
  if (!found) throw new Error(`GET /v1/roles does not list ${role}`);
  return found.counts;
}
