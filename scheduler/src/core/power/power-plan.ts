import { powerLimitRange } from '@switchyard/fleet-model';
import type { NodeRecord } from '../fleet/node-record.js';
import type { ClusterState } from '../topology/cluster-state.js';

/** A node power limit the controller wants applied. */
export interface LimitChange {
  readonly nodeId: string;
  readonly limitWatts: number;
  readonly direction: 'lower' | 'raise';
}

/** Knobs of the power controller. */
export interface PowerPlanConfig {
  /** When capping, aim for this share of the usable budget (under 1, so noise does not re-trigger). */
  readonly capTarget: number;
  /** Share of a node's limit range restored per step once the cluster is back under `releaseAt`. */
  readonly raiseStep: number;
  /** How much more a node doing batch work is capped than one serving interactive work (weight 1 + this × batch share). */
  readonly batchBias: number;
  /** Changes smaller than this many watts are not sent. */
  readonly minChangeWatts: number;
}

export const DEFAULT_POWER_PLAN: PowerPlanConfig = {
  capTarget: 0.95,
  raiseStep: 0.25,
  batchBias: 3,
  minChangeWatts: 5,
};

/**
 * One control step for one cluster: the node power limits that bring its measured draw under the
 * usable budget, or that give power back once it is comfortably under. Pure: reads the cluster
 * and its nodes, returns changes, and sets `cluster.capping` (the cap stage holds until limits
 * are fully restored, so the stage does not flap).
 *
 * Lowering: the excess (measured − capTarget × usable) is shed across live nodes in proportion to
 * what each can shed (its draw above its minimum limit), weighted towards nodes running batch
 * work, so interactive work loses the least speed. A new limit is set below the node's current
 * draw (a cap above the draw sheds nothing). Raising: once measured < releaseAt × usable, every
 * capped node's limit rises by `raiseStep` of its range per step, so demand returns gradually.
 *
 * `pending` are nodes whose last change has not shown in a heartbeat yet: they are left alone,
 * and the cluster is not lowered further while any is pending (their draw has not fallen yet).
 */
export function planPowerLimits(
  cluster: ClusterState,
  nodes: readonly NodeRecord[],
  pending: ReadonlySet<string>,
  config: PowerPlanConfig = DEFAULT_POWER_PLAN,
): LimitChange[] {
  const members = nodes.filter((n) => n.clusterState === cluster && n.liveness !== 'dead');
  const usable = cluster.usableWatts;
  const smoothed = cluster.smooth();
  const overBy = cluster.measuredWatts - config.capTarget * usable;
  // Both the smoothed and the current draw must be over: a burst does not cap, nor does a past one.
  if (cluster.budgeted && Math.min(smoothed, cluster.measuredWatts) > cluster.thresholds.capAt * usable) {
    cluster.capping = true;
    if (members.some((n) => pending.has(n.nodeId))) return [];
    return lower(members, overBy, config);
  }
  if (!cluster.capping) return [];
  if (cluster.budgeted && cluster.measuredWatts >= cluster.thresholds.releaseAt * usable) return [];
  const changes = raise(members, pending, config);
  if (changes.length === 0 && members.every((n) => !isCapped(n) || pending.has(n.nodeId))) {
    cluster.capping = members.some((n) => pending.has(n.nodeId));
  }
  return changes;
}

function isCapped(node: NodeRecord): boolean {
  return node.powerLimitWatts < powerLimitRange(node.hardware).maxWatts - 1;
}

function lower(members: readonly NodeRecord[], excessWatts: number, config: PowerPlanConfig): LimitChange[] {
  const shares = members.map((node) => {
    const { minWatts } = powerLimitRange(node.hardware);
    const drawing = Math.min(node.powerDrawWatts, node.powerLimitWatts);
    const sheddable = Math.max(0, drawing - minWatts);
    const batchShare = node.reservations.size > 0 ? node.batchReservations / node.reservations.size : 0;
    return { node, drawing, minWatts, sheddable, weight: sheddable * (1 + config.batchBias * batchShare) };
  });
  let remaining = excessWatts;
  const cut = new Map<NodeRecord, number>();
  // Two passes: what a node cannot shed (it reaches its minimum) is spread over the others.
  for (let pass = 0; pass < 2 && remaining > config.minChangeWatts; pass++) {
    const open = shares.filter((s) => s.sheddable - (cut.get(s.node) ?? 0) > 0);
    const totalWeight = open.reduce((sum, s) => sum + s.weight, 0);
    if (totalWeight <= 0) break;
    let shed = 0;
    for (const s of open) {
      const already = cut.get(s.node) ?? 0;
      const take = Math.min(s.sheddable - already, (remaining * s.weight) / totalWeight);
      cut.set(s.node, already + take);
      shed += take;
    }
    remaining -= shed;
  }
  const changes: LimitChange[] = [];
  for (const s of shares) {
    const take = cut.get(s.node) ?? 0;
    if (take < config.minChangeWatts) continue;
    const limitWatts = Math.max(s.minWatts, Math.floor(s.drawing - take));
    if (s.node.powerLimitWatts - limitWatts >= config.minChangeWatts) {
      changes.push({ nodeId: s.node.nodeId, limitWatts, direction: 'lower' });
    }
  }
  return changes;
}

function raise(members: readonly NodeRecord[], pending: ReadonlySet<string>, config: PowerPlanConfig): LimitChange[] {
  const changes: LimitChange[] = [];
  for (const node of members) {
    if (pending.has(node.nodeId) || !isCapped(node)) continue;
    const { minWatts, maxWatts } = powerLimitRange(node.hardware);
    const limitWatts = Math.min(maxWatts, Math.ceil(node.powerLimitWatts + config.raiseStep * (maxWatts - minWatts)));
    if (limitWatts - node.powerLimitWatts >= config.minChangeWatts || limitWatts === maxWatts) {
      changes.push({ nodeId: node.nodeId, limitWatts, direction: 'raise' });
    }
  }
  return changes;
}
