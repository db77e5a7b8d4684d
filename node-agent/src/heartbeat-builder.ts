import { type Heartbeat, PROTOCOL_VERSION } from '@switchyard/protocol';
import type { BackendStatus } from './backends/backend.js';
import { SIMULATED_TELEMETRY, type TelemetrySource } from './hardware/telemetry-sampler.js';
import type { NodeIdentity } from './node-agent.js';

/**
 * Builds a node's full status for heartbeats and registrations: numbers them (the scheduler drops
 * reordered ones) and turns the backend's cumulative busy time into utilisation over the interval
 * since the previous one, as nvidia-smi reports `utilization.gpu`. On real hardware the probe's
 * figures (memory, power, temperature, utilisation) replace the backend's, and the heartbeat says
 * where they came from.
 */
export class HeartbeatBuilder {
  private seq = 0;
  private lastBusy = { busyMs: 0, atMs: Number.NaN };
  /** The utilisation the last status reported. */
  utilization = 0;

  constructor(
    private readonly identity: NodeIdentity,
    private readonly incarnation: string,
    private readonly backend: () => BackendStatus,
    private readonly clock: () => number,
    private readonly telemetry: TelemetrySource = SIMULATED_TELEMETRY,
  ) {}

  /** The next status, with a sequence number higher than any before. */
  next(state: Heartbeat['state']): Heartbeat {
    const { identity } = this;
    const overlaid = this.telemetry.overlay(this.backend());
    const backend = overlaid.status;
    const nowMs = this.clock();
    const windowMs = nowMs - this.lastBusy.atMs;
    const utilization =
      overlaid.utilization ??
      (windowMs > 0 ? Math.min(1, Math.max(0, (backend.busyMs - this.lastBusy.busyMs) / windowMs)) : 0);
    this.lastBusy = { busyMs: backend.busyMs, atMs: nowMs };
    this.utilization = utilization;
    return {
      v: PROTOCOL_VERSION,
      nodeId: identity.nodeId,
      incarnation: this.incarnation,
      seq: ++this.seq,
      sentAtMs: Math.floor(nowMs),
      cluster: identity.cluster,
      zone: identity.zone,
      state,
      accelerator: {
        profile: identity.profile,
        count: identity.chipCount,
        hbmTotalBytes: Math.round(backend.hbmTotalBytes),
        hbmUsedBytes: Math.round(backend.hbmUsedBytes),
      },
      models: [...backend.models],
      queueDepth: backend.queueDepth,
      inFlight: backend.inFlight,
      maxBatchSize: backend.maxBatchSize,
      utilization,
      powerDrawWatts: backend.powerDrawWatts,
      powerLimitWatts: backend.powerLimitWatts,
      temperatureC: backend.temperatureC,
      ...(this.telemetry === SIMULATED_TELEMETRY ? {} : { telemetry: this.telemetry.field() }),
      ...(identity.kubernetesNode === undefined ? {} : { kubernetesNode: identity.kubernetesNode }),
    };
  }
}
