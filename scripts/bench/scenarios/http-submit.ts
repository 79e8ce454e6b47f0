import { join } from 'node:path';
import { commandDelta } from '../lib/bench-redis';
import { sleep } from '../lib/free-port';
import { postLoad, type LoadResult } from '../lib/http-load';
import { QueueProbe } from '../lib/queue-probe';
import type { CostSample, Scenario } from '../lib/scenario';
import { alternate } from '../lib/scenario';
import { ECHO, ECHO_PAYLOAD, type ApiHandle, type SideName } from '../lib/sides';

const CONNECTIONS = 50;

/**
 * 1. One task per request: autocannon with 50 connections against Taskyard's POST /v1/tasks
 * (auth on, echo role) and against a bare Fastify route doing queue.add with the same body.
 * Also measures the Redis commands per submitted task (scenario 5).
 */
export const httpSubmit: Scenario = {
  name: 'http-submit',
  title: '1. HTTP submit, one task per request',
  rows: ['http-submit', 'http-submit-p99'],
  async run(ctx) {
    const { sizes, redis } = ctx;
    const apis: Partial<Record<SideName, ApiHandle>> = {};
    try {
      for (const side of [ctx.taskyard, ctx.raw]) {
        apis[side.name] = await side.startApi({ profileDir: ctx.profileDir && join(ctx.profileDir, `http-submit-${side.name}-api`) });
      }
      const body = JSON.stringify({ role: ECHO, payload: ECHO_PAYLOAD });
      const load = (api: ApiHandle, seconds: number) =>
        postLoad({ url: api.submitUrl, headers: api.headers, body, connections: CONNECTIONS, durationSeconds: seconds });

      // JIT warm-up of both servers, not recorded.
      for (const api of Object.values(apis)) await load(api, sizes.httpWarmupSeconds);

      const samples = await alternate(ctx, sizes.pairs, async (side) => {
        await redis.reset();
        const before = await redis.commandStats();
        const result = await load(apis[side.name]!, sizes.httpSeconds);
        await sleep(200); // let the last in-flight requests land
        const delta = commandDelta(before, await redis.commandStats());
        const added = await new QueueProbe(redis.client, side).waiting();
        const cost: CostSample = { commandsPerTask: delta.commands / added, luaPerTask: delta.lua / added, byCommand: perTask(delta.byCommand, added) };
        ctx.shared.submitCost[side.name].push(cost);
        ctx.log(`  ${side.name.padEnd(8)} ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}, ${cost.commandsPerTask.toFixed(2)} Redis commands/task`);
        if (result.ok === 0) throw new Error(`${side.name}: no 2xx response (non-2xx ${result.non2xx}, errors ${result.errors})`);
        return result;
      });

      const pick = (side: SideName, f: (r: LoadResult) => number) => samples[side].map(f);
      return {
        rows: [
          { name: 'http-submit', unit: 'req/s', taskyard: pick('taskyard', (r) => r.requestsPerSecond), raw: pick('raw', (r) => r.requestsPerSecond), target: { kind: 'ratio-min', value: 0.7 } },
          { name: 'http-submit-p99', unit: 'ms', taskyard: pick('taskyard', (r) => r.p99Ms), raw: pick('raw', (r) => r.p99Ms), target: { kind: 'ratio-max', value: 2 } },
        ],
        details: {
          connections: CONNECTIONS,
          seconds: sizes.httpSeconds,
          p50Ms: { taskyard: pick('taskyard', (r) => r.p50Ms), raw: pick('raw', (r) => r.p50Ms) },
          non2xx: { taskyard: pick('taskyard', (r) => r.non2xx), raw: pick('raw', (r) => r.non2xx) },
          errors: { taskyard: pick('taskyard', (r) => r.errors), raw: pick('raw', (r) => r.errors) },
        },
      };
    } finally {
      await Promise.all(Object.values(apis).map((api) => api.process.stop()));
    }
  },
};

export function perTask(byCommand: Record<string, number>, tasks: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(byCommand)
      .sort(([, a], [, b]) => b - a)
      .map(([name, calls]) => [name, Number((calls / tasks).toFixed(3))]),
  );
}
