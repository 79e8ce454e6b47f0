export * from './errors';
export * from './crypto';
export * from './contracts';
export * from './config';
export * from './observability';
export * from './queue';
export * from './roles';
