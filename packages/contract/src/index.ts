export * from './errors.js';
export * from './envelope.js';
export * from './health.js';
export * from './identity.js';
export * from './providers.js';
export * from './events.js';
export * from './syncs.js';
export * from './commerce.js';
