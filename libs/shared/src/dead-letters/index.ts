export * from './dead-letter';
export * from './dead-letter-cursor';
export { DeadLetterStore, type DeadLetterPage } from './dead-letter-store';
