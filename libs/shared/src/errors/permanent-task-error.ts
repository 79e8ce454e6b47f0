import { UnrecoverableError } from 'bullmq';

/**
 * A task failure that retrying cannot fix: the attempt fails and no further attempt is made.
 * Extends BullMQ's UnrecoverableError so BullMQ itself skips the remaining attempts.
 */
export class PermanentTaskError extends UnrecoverableError {
  readonly code: string;
  readonly retryable = false;

  constructor(message: string, code = 'PERMANENT', options?: ErrorOptions) {
    super(message);
    this.code = code;
    this.name = new.target.name;
    if (options?.cause !== undefined) this.cause = options.cause;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The message's HMAC does not match its content, or its key id is unknown. */
export class SignatureError extends PermanentTaskError {
  constructor(message: string) {
    super(message, 'SIGNATURE_INVALID');
  }
}

/** The job data is not a valid task envelope, or the payload does not match the role's schema. */
export class SchemaError extends PermanentTaskError {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message, 'SCHEMA_INVALID');
  }
}
