export * from './nats-server.js';
export * from './child-process.js';
