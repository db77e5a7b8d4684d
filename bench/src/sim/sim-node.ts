/**
 * The simulator's nodes as the scheduler sees them: each simulated engine's heartbeat in the live
 * wire format, and the one outbox command the simulation carries (power limits, applied at once).
 */
import type { SimulatedAccelerator } from '@switchyard/fleet-model';
import { type Heartbeat, PROTOCOL_VERSION } from '@switchyard/protocol';
import type { SchedulerOutbox } from '@switchyard/scheduler';

/** One simulated node: its engine and what its heartbeats carry. */
export interface SimNode {
  readonly nodeId: string;
  readonly cluster: string;
  readonly zone: string;
  readonly profile: string;
  readonly chips: number;
  readonly accelerator: SimulatedAccelerator;
  seq: number;
  /** Bumped whenever the node's next event is re-queued, so stale heap entries are skipped. */
  version: number;
  lastBusyMs: number;
}

/** A detector that never declares a simulated node dead: every node reports on time. */
export const NEVER_SILENT = { suspectAfterMs: 1e15, deadAfterMs: 2e15, forgetAfterMs: 3e15 };
/** The power controller logs to nobody in a simulation. */
export const QUIET_LOG = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The heartbeat a live agent would send for the node now. */
export function heartbeatOf(node: SimNode, nowMs: number): Heartbeat {
  const status = node.accelerator.status(nowMs);
  return {
    v: PROTOCOL_VERSION,
    nodeId: node.nodeId,
    incarnation: 'sim',
    seq: ++node.seq,
    sentAtMs: Math.floor(nowMs),
    cluster: node.cluster,
    zone: node.zone,
    state: 'ready',
    accelerator: {
      profile: node.profile,
      count: node.chips,
      hbmTotalBytes: Math.round(status.hbmTotalBytes),
      hbmUsedBytes: Math.round(status.hbmUsedBytes),
    },
    models: status.models,
    queueDepth: status.queueDepth,
    inFlight: status.inFlight,
    maxBatchSize: status.maxBatchSize,
    utilization: status.batchOccupancy,
    powerDrawWatts: status.powerDrawWatts,
    powerLimitWatts: status.powerLimitWatts,
    temperatureC: status.temperatureC,
  };
}

function notCarried(): never {
  throw new Error('the simulator only carries power limits');
}

/** The power controller's only way out: limits applied to the simulated engines at once. */
export function simOutbox(
  byId: ReadonlyMap<string, SimNode>,
  clock: () => number,
  changes: { count: number },
): SchedulerOutbox {
  return {
    publish: notCarried,
    assign: notCarried,
    adoptSession: notCarried,
    releaseSession: notCarried,
    setPowerLimit: (nodeId, command) => {
      const node = byId.get(nodeId);
      if (node === undefined) throw new Error(`power limit for unknown node ${nodeId}`);
      changes.count++;
      const appliedWatts = node.accelerator.setPowerLimit(command.limitWatts, clock());
      return Promise.resolve({ v: PROTOCOL_VERSION, ok: true as const, nodeId, appliedWatts });
    },
  };
}
