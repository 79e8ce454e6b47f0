import type { z } from 'zod';
import { TopicNameSchema } from '@taskyard/contracts';

/**
 * A topic with the shape of what is published to it, so `ctx.publish(topic, payload)` is typed.
 * Every subscribing role still validates the payload against its own input schema.
 */
export interface TopicDefinition<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: N;
  readonly payload: S;
}

/** Any topic, whatever its payload. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTopic = TopicDefinition<string, any>;

export function defineTopic<const N extends string, S extends z.ZodType>(topic: { name: N; payload: S }): TopicDefinition<N, S> {
  const name = TopicNameSchema.safeParse(topic.name);
  if (!name.success) throw new Error(`topic "${topic.name}": ${name.error.issues[0]?.message ?? 'invalid name'}`);
  return Object.freeze({ name: topic.name, payload: topic.payload });
}

/** A topic's name, whether it is given by name or by definition. */
export function topicName(topic: string | AnyTopic): string {
  return typeof topic === 'string' ? topic : topic.name;
}
