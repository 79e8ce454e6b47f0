import type { Scenario } from '../lib/scenario';
import { alternate } from '../lib/scenario';
import { ECHO, ECHO_PAYLOAD, type ApiHandle, type SideName } from '../lib/sides';

const BATCH_SIZES = [100, 1000] as const;
/** Batch requests in flight at once. */
const IN_FLIGHT = 4;

/**
 * 2. Batches of 100 and 1000 tasks: Taskyard's POST /v1/tasks/batch against a bare Fastify route
 * doing one addBulk of the same tasks. Tasks accepted per second.
 */
export const batchSubmit: Scenario = {
  name: 'batch-submit',
  title: '2. HTTP batch submit',
  rows: ['batch-submit-1000'],
  async run(ctx) {
    const { sizes, redis } = ctx;
    const apis: Partial<Record<SideName, ApiHandle>> = {};
    try {
      for (const side of [ctx.taskyard, ctx.raw]) apis[side.name] = await side.startApi();
      const bodies = new Map(BATCH_SIZES.map((size) => [size, JSON.stringify({ tasks: Array.from({ length: size }, () => ({ role: ECHO, payload: ECHO_PAYLOAD })) })]));

      const submitAll = async (api: ApiHandle, size: number, total: number): Promise<number> => {
        const body = bodies.get(size as (typeof BATCH_SIZES)[number])!;
        let remaining = Math.ceil(total / size);
        const started = performance.now();
        const client = async () => {
          while (remaining > 0) {
            remaining--;
            const response = await fetch(api.batchUrl, { method: 'POST', headers: api.headers, body });
            const text = await response.text();
            if (response.status !== 202) throw new Error(`batch of ${size}: HTTP ${response.status} ${text.slice(0, 200)}`);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, client));
        return (Math.ceil(total / size) * size) / ((performance.now() - started) / 1000);
      };

      // JIT warm-up of both servers, not recorded.
      for (const api of Object.values(apis)) for (const size of BATCH_SIZES) await submitAll(api, size, Math.min(sizes.batchTasks, 4000));

      const samples = await alternate(ctx, sizes.pairs, async (side) => {
        const rates: Record<number, number> = {};
        for (const size of BATCH_SIZES) {
          await redis.reset();
          rates[size] = await submitAll(apis[side.name]!, size, sizes.batchTasks);
        }
        ctx.log(`  ${side.name.padEnd(8)} batches of 100: ${rates[100]!.toFixed(0)} tasks/s, of 1000: ${rates[1000]!.toFixed(0)} tasks/s`);
        return rates;
      });

      return {
        rows: [
          {
            name: 'batch-submit-1000',
            unit: 'tasks/s',
            taskyard: samples.taskyard.map((rates) => rates[1000]!),
            raw: samples.raw.map((rates) => rates[1000]!),
            target: { kind: 'ratio-min', value: 0.85 },
          },
        ],
        details: {
          tasksPerSample: sizes.batchTasks,
          inFlight: IN_FLIGHT,
          batch100TasksPerSecond: { taskyard: samples.taskyard.map((rates) => rates[100]!), raw: samples.raw.map((rates) => rates[100]!) },
        },
      };
    } finally {
      await Promise.all(Object.values(apis).map((api) => api.process.stop()));
    }
  },
};
