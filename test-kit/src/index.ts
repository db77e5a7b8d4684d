export * from './nats-server.js';
export * from './child-process.js';
export * from './kubernetes/fake-kube-api.js';
export * from './kubernetes/node-objects.js';
export * from './test-certificates.js';
