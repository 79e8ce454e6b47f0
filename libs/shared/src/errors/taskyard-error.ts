/**
 * Base class of every error Taskyard raises on purpose. `code` is stable and machine-readable;
 * the prototype is fixed so `instanceof` survives transpiling (same trick as BullMQ's errors).
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
