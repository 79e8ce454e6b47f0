import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// The module-boundary rule is what keeps the libs' jobs apart: each case is an import that must
// not lint, placed (in memory, never written) in the project it must not reach from.
const root = resolve(__dirname, '../..');
let eslint: ESLint;

beforeAll(() => {
  // The rule reads Nx's project graph, which `npm run lint` builds the same way first.
  const graph = spawnSync(process.execPath, [resolve(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], { cwd: root, encoding: 'utf8' });
  expect(graph.status, graph.stderr).toBe(0);
  eslint = new ESLint({ cwd: root });
}, 120_000);

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, file) });
  return result!.messages.filter((message) => message.ruleId === '@nx/enforce-module-boundaries').map((message) => message.message);
}

describe('module boundaries', () => {
  it.each([
    ['libs/contracts/src/probe.ts', "import type { Redis } from 'ioredis';\nexport type R = Redis;\n", /"scope:contracts" is not allowed to import "ioredis"/],
    ['libs/contracts/src/probe.ts', "import { Queue } from 'bullmq';\nexport const q = Queue;\n", /not allowed to import "bullmq"/],
    // Every lib depends on contracts, so the rule finds the cycle first; either way it is refused.
    ['libs/contracts/src/probe.ts', "import { TaskStore } from '@taskyard/store';\nexport const s = TaskStore;\n", /Circular dependency between "contracts" and "store"|"scope:contracts" can only depend on/],
    ['libs/store/src/probe.ts', "import fastify from 'fastify';\nexport const f = fastify;\n", /"type:lib" is not allowed to import "fastify"/],
    ['apps/workers/src/probe.ts', "import fastify from 'fastify';\nexport const f = fastify;\n", /"scope:workers" is not allowed to import "fastify"/],
    ['apps/api/src/probe.ts', "import CircuitBreaker from 'opossum';\nexport const b = CircuitBreaker;\n", /"scope:api" is not allowed to import "opossum"/],
    ['apps/api/src/probe.ts', "import { runRole } from '@taskyard/testing';\nexport const r = runRole;\n", /"type:app" can only depend on libs tagged with "type:lib"/],
    // A lib importing an app: every app depends on the libs, so this too is a cycle first.
    ['libs/store/src/probe.ts', "import { buildApp } from '@taskyard/api';\nexport const b = buildApp;\n", /Circular dependency between "store" and "api"|can only depend on libs tagged with/],
  ])('refuses %s importing what it must not (%#)', async (file, code, expected) => {
    const errors = await boundaryErrors(file, code);
    expect(errors.length, JSON.stringify(errors)).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(expected);
  });

  it('allows what the layers are for', async () => {
    expect(await boundaryErrors('apps/workers/src/probe.ts', "import { Dispatcher } from '@taskyard/dispatch';\nexport const d = Dispatcher;\n")).toEqual([]);
    expect(await boundaryErrors('libs/example-roles/src/probe.test.ts', "import { runRole } from '@taskyard/testing';\nexport const r = runRole;\n")).toEqual([]);
  });
});
