import { z } from 'zod';

/** permanent: retrying cannot help (no further attempt); transient: worth another attempt, with backoff. */
export const ErrorClassSchema = z.enum(['transient', 'permanent']);
export type ErrorClass = z.infer<typeof ErrorClassSchema>;

/**
 * The root of every error Taskyard raises on purpose. `code` is stable and machine-readable;
 * the prototype is fixed so `instanceof` survives transpiling (as BullMQ does for its errors).
 */
export class TaskyardError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
