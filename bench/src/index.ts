export * from './report/table.js';
export * from './report/percentiles.js';
export * from './workload/azure-trace.js';
export * from './demo/demo.js';
export * from './demo/demo-summary.js';
export * from './demo/demo-fleet.js';
export * from './demo/load-driver.js';
