export * from './core/fleet/failure-detector.js';
export * from './core/fleet/fleet-view.js';
export * from './core/fleet/node-record.js';
export * from './core/placement/types.js';
export * from './core/placement/framework.js';
export * from './core/placement/placement-index.js';
export * from './core/placement/estimate.js';
export * from './core/placement/registry.js';
export * from './core/requests/request-ledger.js';
export * from './service/ports.js';
export { startScheduler, type KubernetesIntegration, type SchedulerConfig, type SchedulerHandle } from './scheduler.js';
export * from './adapters/kubernetes/kube-config.js';
export { CLIENT_GO_LEASE_TIMINGS, type LeaseTimings, validateLeaseTimings } from './core/leadership/lease-record.js';
export * from './core/sessions/ownership.js';
export * from './core/sessions/session-store.js';
export * from './core/sessions/session-registry.js';
export { SessionService, DEFAULT_SESSION_CONFIG, type SessionServiceConfig } from './service/session-service.js';
export * from './core/topology/cluster-state.js';
export * from './core/topology/topology.js';
export * from './core/power/power-plan.js';
export { clusterPowerOf } from './service/power-service.js';
export { NatsOutbox } from './adapters/nats/nats-outbox.js';
export { SchedulerMetrics, type SchedulerMetricsSource } from './adapters/metrics/scheduler-metrics.js';
export { TimedPlacementFramework } from './adapters/metrics/timed-placement.js';
export { FairShare } from './core/admission/fair-share.js';
export { judgeSaturation } from './core/admission/saturation.js';
export { PowerService } from './service/power-service.js';
export {
  DEFAULT_ADMISSION_CONFIG,
  type AdmissionConfig,
  type ClassAdmissionConfig,
} from './core/admission/admission-config.js';
export * from './core/admission/tenant-quotas.js';
