/** The fixture fleet's sites and how their power budgets are set to put each in a chosen power stage. */
import type { PowerStage } from '@switchyard/protocol';
import {
  DEFAULT_SAFETY_MARGIN,
  planPowerLimits,
  type FleetView,
  type NodeRecord,
  type Topology,
} from '@switchyard/scheduler';

/** A site of the fixture: its zones, where it is, and the power stage its budget is set to put it in. */
export interface FixtureCluster {
  readonly cluster: string;
  readonly zones: readonly string[];
  readonly location: string;
  readonly stage: PowerStage;
}

/**
 * Ten sites, two or three zones each. Budgets are set once the fleet is built, from each site's
 * committed draw: six have room (55–80 % of the usable budget), two steer work away (≈ 90 %), one
 * defers batch work (≈ 97 %) and one draws over its budget, so the power controller caps its nodes.
 */
export const FIXTURE_CLUSTERS: readonly FixtureCluster[] = [
  { cluster: 'edge-fra-1', zones: ['fra-a', 'fra-b', 'fra-c'], location: 'Frankfurt', stage: 'normal' },
  { cluster: 'edge-fra-2', zones: ['fra2-a', 'fra2-b'], location: 'Frankfurt', stage: 'steer' },
  { cluster: 'edge-iad-1', zones: ['iad-a', 'iad-b', 'iad-c'], location: 'Ashburn', stage: 'normal' },
  { cluster: 'edge-iad-2', zones: ['iad2-a', 'iad2-b'], location: 'Ashburn', stage: 'defer' },
  { cluster: 'edge-pdx-1', zones: ['pdx-a', 'pdx-b'], location: 'Portland', stage: 'normal' },
  { cluster: 'edge-lhr-1', zones: ['lhr-a', 'lhr-b'], location: 'London', stage: 'steer' },
  { cluster: 'edge-sin-1', zones: ['sin-a', 'sin-b', 'sin-c'], location: 'Singapore', stage: 'normal' },
  { cluster: 'edge-nrt-1', zones: ['nrt-a', 'nrt-b'], location: 'Tokyo', stage: 'cap' },
  { cluster: 'edge-syd-1', zones: ['syd-a', 'syd-b'], location: 'Sydney', stage: 'normal' },
  { cluster: 'edge-gru-1', zones: ['gru-a', 'gru-b'], location: 'São Paulo', stage: 'normal' },
];

/** Committed draw as a share of the usable budget, by the stage a cluster is meant to be in. */
const STAGE_SHARE: Readonly<Record<Exclude<PowerStage, 'cap'>, readonly [low: number, high: number]>> = {
  normal: [0.55, 0.8],
  steer: [0.88, 0.92],
  defer: [0.96, 0.98],
};
/** Measured draw of the capping cluster as a multiple of its usable budget. */
const CAP_OVERDRAW = 1.06;

/**
 * Sets each cluster's budget from its committed draw so that it lands in its FIXTURE_CLUSTERS stage.
 * The capping cluster's budget goes under its measured draw and the power controller's own plan
 * (planPowerLimits) lowers its nodes' limits; `applyLimit` delivers each new limit as the node's
 * next heartbeat would. Returns the stage each cluster ended in.
 */
export function setPowerStages(
  fleet: FleetView,
  topology: Topology,
  rng: () => number,
  applyLimit: (node: NodeRecord, limitWatts: number) => void,
): Record<string, PowerStage> {
  const usableToBudget = 1 / (1 - DEFAULT_SAFETY_MARGIN);
  for (const spec of FIXTURE_CLUSTERS) {
    const state = topology.find(spec.cluster);
    if (state === undefined || state.liveNodes === 0) continue;
    if (spec.stage === 'cap') {
      topology.setBudget(spec.cluster, (state.measuredWatts / CAP_OVERDRAW) * usableToBudget);
      for (const change of planPowerLimits(state, fleet.nodes, new Set())) {
        const node = fleet.get(change.nodeId);
        if (node !== undefined) applyLimit(node, change.limitWatts);
      }
    } else {
      const [low, high] = STAGE_SHARE[spec.stage];
      const share = low + (high - low) * rng();
      topology.setBudget(spec.cluster, (state.committedWatts / share) * usableToBudget);
    }
  }
  const stages: Record<string, PowerStage> = {};
  for (const state of topology.all()) stages[state.name] = state.stage;
  return stages;
}
