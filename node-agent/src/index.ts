export * from './backends/backend.js';
export * from './backends/simulated-backend.js';
export * from './backends/null-backend.js';
export * from './node-agent.js';
export * from './agent-host.js';
