import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DispatchError, TaskIdSchema, type Principal, type Scope, type WorkflowNode } from '@taskyard/contracts';
import { createMessage, MessageSigner } from '@taskyard/crypto';
import { defineRole, RoleRegistry } from '@taskyard/roles';
import { MessagePreparer } from './message-preparer';
import type { Origin } from './origin';
import { walk, WorkflowPreparer, type PreparedNode } from './workflow-preparer';

const signer = new MessageSigner([{ id: 'k1', secret: 'a-signing-secret-of-some-length' }]);
const handler = async () => undefined;
const registry = new RoleRegistry([
  defineRole({ name: 'report.fetch', description: 'd', input: z.object({ source: z.string().min(1) }).strict(), handler }),
  defineRole({ name: 'report.assemble', description: 'd', input: z.object({}).strict(), handler }),
  defineRole({ name: 'mail', description: 'd', input: z.object({}).strict(), acceptFrom: ['role:report.assemble'], handler }),
  defineRole({ name: 'notify', description: 'd', input: z.object({}).strict(), handler }),
]);
const preparer = new MessagePreparer({ registry, signer, config: { retention: { ageSeconds: 600, count: 1000 } } });
const workflows = new WorkflowPreparer(preparer, { maxNodes: 6, maxDepth: 3 });
const principal = (scopes: Scope[] = ['admin'], tenant?: string): Principal => ({ keyId: 'main', scopes: new Set(scopes), tenant });
const api = (scopes?: Scope[], tenant?: string) => ({ origin: { kind: 'api' as const, principal: principal(scopes, tenant) }, workflowId: `wf_${'1'.repeat(8)}-1111-4111-8111-${'1'.repeat(12)}` });
const parent = createMessage({ role: 'report.assemble', payload: {}, source: 'api:main', workflowId: `wf_${'2'.repeat(8)}-2222-4222-8222-${'2'.repeat(12)}` }, signer);
const fromAssemble = { origin: { kind: 'role', role: 'report.assemble', parent } as Origin & { kind: 'role' } };

const fetch = (source: string, children?: WorkflowNode[]): WorkflowNode => ({ role: 'report.fetch', payload: { source }, ...(children ? { children } : {}) });
const assemble = (children: WorkflowNode[], onChildFailure?: 'fail' | 'ignore' | 'continue'): WorkflowNode => ({ role: 'report.assemble', payload: {}, children, ...(onChildFailure ? { onChildFailure } : {}) });

function refusal(run: () => unknown): DispatchError {
  try {
    run();
  } catch (err) {
    if (err instanceof DispatchError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('WorkflowPreparer: a workflow', () => {
  it('makes every node a signed message of the workflow, with its policy and path; the default policy is fail', () => {
    const root = workflows.prepareRoot(api(), assemble([fetch('sales'), fetch('costs')], 'ignore'));
    const nodes = [...walk([root])];
    expect(nodes.map((node) => node.path)).toEqual(['root', 'root.children[0]', 'root.children[1]']);
    expect(nodes.map((node) => node.onChildFailure)).toEqual(['ignore', 'fail', 'fail']);
    for (const node of nodes) {
      expect(node.message.metadata).toMatchObject({ workflowId: api().workflowId, owner: 'main', source: 'api:main', causationId: null });
      expect(signer.verify({ ...node.message, signature: undefined }, node.message.signature)).toBe(true);
      expect(node.options.jobId).toBe(node.message.id);
    }
  });

  it("refuses a bad node naming its path: payload, unknown role, a role's acceptFrom, a submit scope, dedupe, a cap", () => {
    const cases: [WorkflowNode, Scope[] | undefined, string, string][] = [
      [assemble([fetch('a'), fetch('')]), undefined, 'INVALID', 'root.children[1].payload.source'],
      [assemble([fetch('a', [{ role: 'nope', payload: {} }])]), undefined, 'INVALID', 'root.children[0].children[0].role'],
      [assemble([{ role: 'mail', payload: {} }]), undefined, 'FORBIDDEN', 'root.children[0].role'],
      [assemble([fetch('a')]), ['tasks:submit:report.assemble'], 'FORBIDDEN', 'root.children[0].role'],
      [assemble([{ ...fetch('a'), options: { dedupe: { key: 'k', mode: 'simple' } } }]), undefined, 'INVALID', 'root.children[0].options.dedupe'],
      [assemble([{ ...fetch('a'), options: { attempts: 50 } }]), undefined, 'INVALID', 'root.children[0].options.attempts'],
    ];
    for (const [root, scopes, code, field] of cases) {
      const error = refusal(() => workflows.prepareRoot(api(scopes), root));
      expect(error.code).toBe(code);
      const details = Array.isArray(error.details) ? error.details : [error.details];
      expect(details.map((detail: { field: string }) => detail.field)).toContain(field);
      // The message starts with the node's path: the field up to its last `children[i]`.
      const nodePath = field.split('.').filter((part) => part === 'root' || part.startsWith('children[')).join('.');
      expect(error.message.startsWith(`${nodePath}: `)).toBe(true);
    }
  });

  it('bounds the size and the depth before making any node', () => {
    expect(refusal(() => workflows.prepareRoot(api(), assemble(Array.from({ length: 6 }, (_, at) => fetch(`s${at}`))))).message).toContain('at most 6 tasks');
    const deep = assemble([assemble([assemble([fetch('too deep')])])]);
    expect(refusal(() => workflows.prepareRoot(api(), deep)).details).toEqual([{ field: 'root.children[0].children[0].children[0]', message: 'deeper than 3 levels' }]);
  });

  it('stamps a tenant key\'s tenant on every node', () => {
    const root = workflows.prepareRoot(api(['admin'], 'acme'), assemble([fetch('a')]));
    expect([...walk([root])].map((node) => node.message.metadata.tenant)).toEqual(['acme', 'acme']);
  });

  it('checks that a tree stays in one role family (for a Redis Cluster)', () => {
    const mixed: PreparedNode = workflows.prepareRoot(api(), { ...assemble([fetch('a')]), children: [fetch('a'), { role: 'notify', payload: {} }] } as WorkflowNode);
    expect(() => workflows.checkOneFamily([workflows.prepareRoot(api(), assemble([fetch('a')]))])).not.toThrow();
    const error = refusal(() => workflows.checkOneFamily([mixed]));
    expect(error.details).toEqual([expect.objectContaining({ field: 'root.children[1].role' })]);
  });
});

describe("WorkflowPreparer: a handler's fan-out", () => {
  it('derives the children from the parent: its workflow, correlation and causation, ids that follow from its id', () => {
    const children = [fetch('a', [fetch('a1')]), fetch('b')];
    const first = workflows.prepareChildren(fromAssemble, children);
    const again = workflows.prepareChildren(fromAssemble, children);
    const ids = (nodes: PreparedNode[]) => [...walk(nodes)].map((node) => node.message.id);
    expect(ids(again)).toEqual(ids(first));
    expect(new Set(ids(first)).size).toBe(3);
    for (const id of ids(first)) expect(TaskIdSchema.safeParse(id).success).toBe(true);
    for (const node of walk(first)) {
      expect(node.message.metadata).toMatchObject({ causationId: parent.id, correlationId: parent.metadata.correlationId, workflowId: parent.metadata.workflowId, source: 'role:report.assemble' });
    }
    // Another parent's children have other ids.
    const other = { origin: { ...fromAssemble.origin, parent: createMessage({ role: 'report.assemble', payload: {}, source: 'api:main' }, signer) } };
    expect(ids(workflows.prepareChildren(other, children))).not.toEqual(ids(first));
  });

  it('refuses an empty fan-out and one past the size bound', () => {
    expect(refusal(() => workflows.prepareChildren(fromAssemble, [])).code).toBe('INVALID');
    expect(refusal(() => workflows.prepareChildren(fromAssemble, Array.from({ length: 7 }, (_, at) => fetch(`s${at}`)))).message).toContain('at most 6 tasks');
  });
});

describe("WorkflowPreparer: a fan-out's waves", () => {
  it('gives a later wave other ids than the first, and the same wave the same ids', () => {
    const children = [fetch('a'), fetch('b')];
    const ids = (wave: number) => workflows.prepareChildren(fromAssemble, children, wave).map((node) => node.message.id);
    expect(ids(1)).toEqual(ids(1));
    expect(ids(2)).not.toEqual(ids(1));
    expect(new Set([...ids(1), ...ids(2)]).size).toBe(4);
  });
});
