import { z } from 'zod';

/**
 * Role names double as BullMQ queue names, so they cannot contain ":" (BullMQ's key separator).
 * Lower-case words joined by "-" or ".", e.g. `echo`, `docs.ingest`.
 */
/** A topic is named like a role: lower-case words joined by "." or "-" (e.g. `order.created`). */
export const TopicNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, 'a topic name is lower-case words joined by "." or "-"')
  .max(64);

export const RoleNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, 'a role name is lower-case words joined by "." or "-"')
  .max(64);

/** Task ids are random UUIDs: 122 random bits, so ids cannot be guessed or enumerated. */
export const TaskIdSchema = z.uuid();

export const CorrelationIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, "_", ".", ":" and "-" only');

export const LabelsSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_./-]{1,63}$/, 'label names are 1-63 of A-Z a-z 0-9 _ . / -'), z.string().max(256))
  .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 labels');
