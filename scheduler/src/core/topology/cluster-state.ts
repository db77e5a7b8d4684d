import type { PowerStage } from '@switchyard/protocol';

/** Fractions of a cluster's usable budget (budget × (1 − safety margin)) at which power stages begin. */
export interface PowerThresholds {
  /** Committed draw at or above this share of the usable budget steers new work elsewhere. */
  readonly steerAt: number;
  /** … at or above this share, batch work is deferred (not placed in the cluster). */
  readonly deferAt: number;
  /** The power controller lowers node limits (cap stage) when both the smoothed and the current measured draw exceed this share … */
  readonly capAt: number;
  /** … until measured draw falls under this share, when limits are raised again. */
  readonly releaseAt: number;
}

export const DEFAULT_POWER_THRESHOLDS: PowerThresholds = { steerAt: 0.85, deferAt: 0.95, capAt: 1, releaseAt: 0.85 };

/** Bad power thresholds; raised at start-up. */
export function validatePowerThresholds(t: PowerThresholds): PowerThresholds {
  const ok = 0 < t.releaseAt && t.releaseAt <= t.steerAt && t.steerAt <= t.deferAt && t.deferAt <= t.capAt;
  if (!ok || t.capAt > 2) {
    throw new RangeError(
      `power thresholds must satisfy 0 < releaseAt ≤ steerAt ≤ deferAt ≤ capAt ≤ 2, got ${JSON.stringify(t)}`,
    );
  }
  return t;
}

/**
 * One cluster: where it is, its power budget, what its nodes draw and what the scheduler has
 * placed there since they last reported, and the measured round trips from client regions.
 * FleetView keeps the draw current incrementally (O(1) per heartbeat and placement), so power is
 * read in O(1) per decision. Clusters outside the configured topology get an unlimited budget.
 */
export class ClusterState {
  /** Σ powerDrawWatts last reported by the cluster's live nodes. */
  measuredWatts = 0;
  /** Σ predicted power delta of placements made since each node's last report. */
  predictedWatts = 0;
  /** Live (not dead) nodes. */
  liveNodes = 0;
  /** Set while the power controller holds node limits below their maximum. */
  capping = false;
  /**
   * Measured draw smoothed over control steps (EWMA, α = 0.5): the controller caps on this, so a
   * burst of prefills (near TDP for a few hundred ms) does not lower limits by itself.
   */
  smoothedWatts: number | undefined = undefined;
  private readonly latencyMs = new Map<string, number>();
  private readonly measuredLatency = new Set<string>();

  constructor(
    readonly name: string,
    public location = '',
    public budgetWatts = Number.POSITIVE_INFINITY,
    public safetyMargin = 0,
    public thresholds: PowerThresholds = DEFAULT_POWER_THRESHOLDS,
    /** Round trip assumed from a region this cluster has no figure for. */
    readonly unlistedLatencyMs = 250,
  ) {}

  /** Whether the cluster has a finite power budget. */
  get budgeted(): boolean {
    return Number.isFinite(this.budgetWatts);
  }

  /** The budget less its safety margin: the draw the scheduler plans to stay under. */
  get usableWatts(): number {
    return this.budgetWatts * (1 - this.safetyMargin);
  }

  /** Measured draw plus the predicted draw of work placed since it was measured. */
  get committedWatts(): number {
    return this.measuredWatts + this.predictedWatts;
  }

  /** Watts that may still be added before the hard budget is reached (may be negative). */
  get headroomWatts(): number {
    return this.budgetWatts - this.committedWatts;
  }

  /** How close the cluster is to its budget, mildest first (see PowerStage); `cap` while the controller holds limits down. */
  get stage(): PowerStage {
    if (!this.budgeted) return 'normal';
    const usable = this.usableWatts;
    const { steerAt, deferAt } = this.thresholds;
    if (this.capping) return 'cap';
    const committed = this.committedWatts;
    if (committed >= deferAt * usable) return 'defer';
    if (committed >= steerAt * usable) return 'steer';
    return 'normal';
  }

  /** Folds the current measured draw into the smoothed one (one control step). */
  smooth(): number {
    this.smoothedWatts =
      this.smoothedWatts === undefined
        ? this.measuredWatts
        : this.smoothedWatts + 0.5 * (this.measuredWatts - this.smoothedWatts);
    return this.smoothedWatts;
  }

  /** Configured round trip from `region`, in ms (a measurement, once seen, takes over). */
  configureLatency(region: string, rttMs: number): void {
    if (!this.measuredLatency.has(region)) this.latencyMs.set(region, rttMs);
  }

  /**
   * A measured round trip from `region`: the first replaces the configured figure, later ones are
   * smoothed (EWMA, α = 0.2) so that one slow sample does not move traffic.
   */
  observeLatency(region: string, rttMs: number): void {
    const previous = this.measuredLatency.has(region) ? this.latencyMs.get(region) : undefined;
    this.latencyMs.set(region, previous === undefined ? rttMs : previous + 0.2 * (rttMs - previous));
    this.measuredLatency.add(region);
  }

  /** Round trip from `region` in ms, or undefined when neither configured nor measured. */
  latencyFrom(region: string): number | undefined {
    return this.latencyMs.get(region);
  }

  /** Round trip a request from `region` pays to this cluster: 0 without a region, the default when unlisted. */
  networkMs(region: string | undefined): number {
    if (region === undefined) return 0;
    return this.latencyMs.get(region) ?? this.unlistedLatencyMs;
  }
}
