import { type ClusterPower, PROTOCOL_VERSION } from '@switchyard/protocol';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { NodeRecord } from '../core/fleet/node-record.js';
import { DEFAULT_POWER_PLAN, planPowerLimits, type PowerPlanConfig } from '../core/power/power-plan.js';
import type { ClusterState } from '../core/topology/cluster-state.js';
import type { Counters, Logger, SchedulerOutbox } from './ports.js';

/** A limit sent to a node and not yet seen in its heartbeats. */
interface PendingLimit {
  readonly limitWatts: number;
  readonly sentAtMs: number;
}

/** How long a sent limit counts as pending if no heartbeat shows it (then the plan may resend). */
const PENDING_TIMEOUT_MS = 5_000;

/** A cluster's power as the protocol reports it. */
const round = (watts: number): number => Math.round(Math.max(0, watts) * 10) / 10;

export function clusterPowerOf(state: ClusterState): ClusterPower {
  return {
    cluster: state.name,
    budgetWatts: state.budgeted ? round(state.budgetWatts) : 0,
    safetyMargin: state.safetyMargin,
    measuredWatts: round(state.measuredWatts),
    committedWatts: round(state.committedWatts),
    stage: state.stage,
  };
}

/**
 * The power controller: on every tick, for every cluster, plans node power limits (core/power)
 * and sends them to the agents. Lowering happens only when measured draw exceeds the usable
 * budget; steering and deferral need no messages (placement reads the cluster's stage).
 */
export class PowerService {
  private readonly pending = new Map<string, PendingLimit>();

  constructor(
    private readonly fleet: FleetView,
    private readonly outbox: SchedulerOutbox,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly config: PowerPlanConfig = DEFAULT_POWER_PLAN,
    private readonly commandTimeoutMs = 2_000,
  ) {}

  /** One control step over every cluster. */
  tick(): void {
    const nowMs = this.clock();
    this.settlePending(nowMs);
    const pendingIds = new Set(this.pending.keys());
    // One pass over the fleet per tick, not one per cluster.
    const byCluster = new Map<ClusterState, NodeRecord[]>();
    for (const node of this.fleet.nodes) {
      if (node.clusterState === undefined) continue;
      const members = byCluster.get(node.clusterState);
      if (members === undefined) byCluster.set(node.clusterState, [node]);
      else members.push(node);
    }
    for (const cluster of this.fleet.topology.all()) {
      const stageBefore = cluster.stage;
      const changes = planPowerLimits(cluster, byCluster.get(cluster) ?? [], pendingIds, this.config);
      const stageAfter = cluster.stage;
      if (stageAfter !== stageBefore) {
        this.log.info({ from: stageBefore, to: stageAfter, ...clusterPowerOf(cluster) }, 'cluster power stage changed');
      }
      for (const change of changes) {
        this.pending.set(change.nodeId, { limitWatts: change.limitWatts, sentAtMs: nowMs });
        this.counters.increment(`power.limits.${change.direction === 'lower' ? 'lowered' : 'raised'}`);
        void this.send(
          change.nodeId,
          change.limitWatts,
          `${cluster.name}: ${change.direction} limit (${stageAfter} stage)`,
        );
      }
    }
  }

  /** Nodes with a limit in flight. */
  get pendingNodes(): number {
    return this.pending.size;
  }

  /** Forgets limits a heartbeat has confirmed, that timed out, or whose node is gone. */
  private settlePending(nowMs: number): void {
    for (const [nodeId, sent] of this.pending) {
      const node = this.fleet.get(nodeId);
      const shown = node !== undefined && Math.abs(node.powerLimitWatts - sent.limitWatts) <= 1;
      if (node === undefined || node.liveness === 'dead' || shown || nowMs - sent.sentAtMs > PENDING_TIMEOUT_MS) {
        this.pending.delete(nodeId);
      }
    }
  }

  private async send(nodeId: string, limitWatts: number, reason: string): Promise<void> {
    const reply = await this.outbox.setPowerLimit(
      nodeId,
      { v: PROTOCOL_VERSION, limitWatts, reason },
      this.commandTimeoutMs,
    );
    if ('ok' in reply && reply.ok) {
      this.log.info({ nodeId, limitWatts, appliedWatts: reply.appliedWatts, reason }, 'power limit applied');
      return;
    }
    this.pending.delete(nodeId);
    this.counters.increment('power.limits.failed');
    const why =
      'error' in reply ? `${reply.error.code}: ${reply.error.message}` : `${reply.transport}: ${reply.message}`;
    this.log.warn({ nodeId, limitWatts, reason: why }, 'power limit not applied');
  }
}
