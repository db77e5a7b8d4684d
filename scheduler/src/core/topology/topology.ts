import {
  ClusterState,
  DEFAULT_POWER_THRESHOLDS,
  type PowerThresholds,
  validatePowerThresholds,
} from './cluster-state.js';

/** A site as configured: where it is and the power it may draw. */
export interface ClusterSpec {
  readonly name: string;
  readonly location: string;
  readonly powerBudgetWatts: number;
  /** Fraction of the budget kept free for prediction error (default 0.05). */
  readonly safetyMargin?: number;
}

/** Where clients are: round trips from the region to each cluster, in ms. */
export interface RegionSpec {
  readonly name: string;
  readonly latencyMs: Readonly<Record<string, number>>;
}

/** The fleet's geography and power: clusters with budgets, client regions with a latency matrix. */
export interface TopologySpec {
  readonly clusters: readonly ClusterSpec[];
  readonly regions: readonly RegionSpec[];
  /** Round trip assumed from a region to a cluster its row does not list (default 250 ms). */
  readonly unlistedLatencyMs?: number;
  readonly powerThresholds?: PowerThresholds;
}

/** Bad topology; raised at start-up with what is wrong and where. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

export const DEFAULT_SAFETY_MARGIN = 0.05;

/**
 * The scheduler's topology: a ClusterState per cluster (configured ones with their budgets, others
 * created unbudgeted when their first node registers) and the known client regions. Pure and
 * in-memory; the composition root loads the spec and the NATS adapter feeds measured latencies.
 */
export class Topology {
  private readonly clusters = new Map<string, ClusterState>();
  private readonly regions = new Set<string>();
  readonly unlistedLatencyMs: number;
  readonly thresholds: PowerThresholds;

  constructor(spec: TopologySpec = { clusters: [], regions: [] }) {
    this.unlistedLatencyMs = spec.unlistedLatencyMs ?? 250;
    try {
      this.thresholds = validatePowerThresholds(spec.powerThresholds ?? DEFAULT_POWER_THRESHOLDS);
    } catch (err) {
      throw new TopologyError(err instanceof Error ? err.message : String(err));
    }
    for (const cluster of spec.clusters) {
      if (this.clusters.has(cluster.name)) throw new TopologyError(`cluster ${cluster.name} is configured twice`);
      checkBudget(cluster.name, cluster.powerBudgetWatts, cluster.safetyMargin ?? DEFAULT_SAFETY_MARGIN);
      this.clusters.set(
        cluster.name,
        new ClusterState(
          cluster.name,
          cluster.location,
          cluster.powerBudgetWatts,
          cluster.safetyMargin ?? DEFAULT_SAFETY_MARGIN,
          this.thresholds,
          this.unlistedLatencyMs,
        ),
      );
    }
    for (const region of spec.regions) {
      if (this.regions.has(region.name)) throw new TopologyError(`region ${region.name} is configured twice`);
      this.regions.add(region.name);
      for (const [cluster, rttMs] of Object.entries(region.latencyMs)) {
        const state = this.clusters.get(cluster);
        if (state === undefined) {
          throw new TopologyError(`region ${region.name} lists latency to unknown cluster ${cluster}`);
        }
        if (!(rttMs >= 0 && rttMs <= 60_000)) {
          throw new TopologyError(`region ${region.name} → ${cluster}: latency must be 0–60000 ms, got ${rttMs}`);
        }
        state.configureLatency(region.name, rttMs);
      }
    }
  }

  /** The cluster's state, created unbudgeted on first sight of a cluster the configuration does not name. */
  cluster(name: string): ClusterState {
    let state = this.clusters.get(name);
    if (state === undefined) {
      state = new ClusterState(name, '', Number.POSITIVE_INFINITY, 0, this.thresholds, this.unlistedLatencyMs);
      this.clusters.set(name, state);
    }
    return state;
  }

  /** The cluster's state if it exists (configured or seen). */
  find(name: string): ClusterState | undefined {
    return this.clusters.get(name);
  }

  /** Every cluster, configured or seen. */
  all(): IterableIterator<ClusterState> {
    return this.clusters.values();
  }

  hasRegion(name: string): boolean {
    return this.regions.has(name);
  }

  get regionNames(): readonly string[] {
    return [...this.regions];
  }

  /** Changes a cluster's budget at run time (operator, grid event). */
  setBudget(name: string, budgetWatts: number, safetyMargin?: number): ClusterState {
    const state = this.cluster(name);
    const margin = safetyMargin ?? (state.budgeted ? state.safetyMargin : DEFAULT_SAFETY_MARGIN);
    checkBudget(name, budgetWatts, margin);
    state.budgetWatts = budgetWatts;
    state.safetyMargin = margin;
    return state;
  }

  /** Applies a measured round trip; false when the region or cluster is unknown (the sample is dropped). */
  observeLatency(region: string, cluster: string, rttMs: number): boolean {
    const state = this.clusters.get(cluster);
    if (!this.regions.has(region) || state === undefined || !(rttMs >= 0)) return false;
    state.observeLatency(region, rttMs);
    return true;
  }
}

function checkBudget(cluster: string, budgetWatts: number, safetyMargin: number): void {
  if (!(budgetWatts > 0) || !Number.isFinite(budgetWatts)) {
    throw new TopologyError(`cluster ${cluster}: power budget must be a positive number of watts, got ${budgetWatts}`);
  }
  if (!(safetyMargin >= 0 && safetyMargin <= 0.5)) {
    throw new TopologyError(`cluster ${cluster}: safety margin must be between 0 and 0.5, got ${safetyMargin}`);
  }
}
