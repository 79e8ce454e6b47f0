import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineRole } from './define-role';
import { RoleRegistry } from './role-registry';
import type { TaskContext } from './task-context';
import { defineTopic } from './topics';

const analyze = defineRole({
  name: 'docs.analyze',
  description: 'd',
  input: z.object({ documentId: z.string(), chunkIndex: z.number().int() }),
  handler: async () => undefined,
});
const published = defineTopic({ name: 'doc.published', payload: z.object({ documentId: z.string() }) });
const ingest = defineRole({
  name: 'docs.ingest',
  description: 'd',
  input: z.object({ text: z.string() }),
  topics: [published, 'legacy.topic'],
  handler: async (message, ctx) => {
    await ctx.send(analyze, { documentId: message.id, chunkIndex: 0 });
    // @ts-expect-error: the target role's schema types the payload (chunkIndex is missing)
    await ctx.send(analyze, { documentId: message.id });
    // A role from another module, by name: any payload (checked when sent).
    await ctx.send('elsewhere', { anything: true });
    await ctx.publish(published, { documentId: message.id });
    // @ts-expect-error: the topic's schema types what is published
    await ctx.publish(published, { document: 1 });
    return ctx.snooze(1000);
  },
});

describe('typed roles', () => {
  it("keep their names and schemas in the registry, and name their topics' names", () => {
    const registry = new RoleRegistry([analyze, ingest]);
    expectTypeOf(registry.role('docs.analyze')).toEqualTypeOf<typeof analyze>();
    expectTypeOf(registry.role('docs.analyze').input).toEqualTypeOf<typeof analyze.input>();
    // @ts-expect-error: a name the registry does not have
    expect(() => registry.role('docs.nothing')).toThrow(/unknown role/);
    expectTypeOf(registry.get('some other name')).toEqualTypeOf<typeof analyze | typeof ingest | undefined>();
    expect(registry.role('docs.analyze')).toBe(analyze);
    expect(ingest.topics).toEqual(['doc.published', 'legacy.topic']);
    expect(registry.subscribersOf('doc.published')).toEqual([ingest]);
    expect(registry.topics()).toEqual(['doc.published', 'legacy.topic']);
  });

  it("type ctx.send and ctx.publish by the target's schema", () => {
    type Send = TaskContext['send'];
    expectTypeOf<Parameters<Extract<Send, (role: typeof analyze, ...rest: never[]) => unknown>>>().not.toBeNever();
    expect(typeof ingest.handler).toBe('function');
  });

  it('refuse bad topic names at definition', () => {
    expect(() => defineTopic({ name: 'Not A Topic', payload: z.unknown() })).toThrow(/topic "Not A Topic"/);
  });
});
