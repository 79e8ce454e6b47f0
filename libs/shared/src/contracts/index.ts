export * from './deep-freeze';
export * from './identifiers';
export * from './envelope';
export * from './open-message';
export * from './task-state';
export * from './attempt-record';
export * from './role';
export * from './task-api';
