import type { CostSample, Scenario } from '../lib/scenario';
import type { SideName } from '../lib/sides';
import { median } from '../lib/stats';

/**
 * 5. Redis cost per task, from the INFO commandstats deltas scenarios 1 (submit) and 3 (process,
 * c=50) recorded: every command Redis ran for a task's life, those inside Lua scripts included
 * (so a write hidden in a script still counts), and the Lua calls among them.
 */
export const redisCost: Scenario = {
  name: 'redis-cost',
  title: '5. Redis commands per task',
  rows: ['redis-commands-per-task'],
  async run(ctx) {
    const { submitCost, processCost } = ctx.shared;
    const sides: SideName[] = ['taskyard', 'raw'];
    for (const side of sides) {
      if (submitCost[side].length === 0 || processCost[side].length === 0) {
        throw new Error(`no ${side} figures from the http-submit and worker-throughput scenarios (run them too)`);
      }
    }
    const lifetime = (side: SideName) => {
      const pairs = Math.min(submitCost[side].length, processCost[side].length);
      return Array.from({ length: pairs }, (_, i) => submitCost[side][i]!.commandsPerTask + processCost[side][i]!.commandsPerTask);
    };
    const summary = (samples: CostSample[]) => ({
      commandsPerTask: median(samples.map((s) => s.commandsPerTask)),
      luaPerTask: median(samples.map((s) => s.luaPerTask)),
      byCommand: samples.at(-1)?.byCommand,
    });
    return {
      rows: [{ name: 'redis-commands-per-task', unit: 'commands/task', taskyard: lifetime('taskyard'), raw: lifetime('raw'), target: { kind: 'diff-max', value: 2 } }],
      details: {
        submit: { taskyard: summary(submitCost.taskyard), raw: summary(submitCost.raw) },
        process: { taskyard: summary(processCost.taskyard), raw: summary(processCost.raw) },
      },
    };
  },
};
