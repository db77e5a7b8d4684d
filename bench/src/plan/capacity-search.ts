/**
 * Capacity search: the smallest fleet, by how many nodes of each group (cluster × profile) it
 * has, whose simulated run meets an SLO target for every class under the clusters' power budgets
 * (the simulator enforces them as live: placement steers and defers, the controller caps).
 *
 * "Smallest" is rated watts (the power a contract must cover), then nodes. The search:
 * 1. grows the spec's fleet by doubling every group until it meets the target (or a limit);
 * 2. shrinks it uniformly by bisection on a scale factor (a coarse answer in a few runs);
 * 3. removes one node at a time greedily, always the removal that saves the most watts and still
 *    meets the target, until no removal does. This is where the profile mix changes: a group can
 *    shrink to zero while another keeps its nodes.
 * Greedy descent finds a local minimum, not a proven optimum; every trial is kept in the answer so
 * a planner sees what was tried. Runs are memoised by fleet, and each is deterministic for the seed.
 */
import { getProfile, powerLimitRange } from '@switchyard/fleet-model';
import type { SimNodeGroup } from '../sim/simulator.js';
import type { CapacityAnswer, CapacityTrial, FleetMix, PolicySummary } from './plan-report.js';

export interface CapacitySearchOptions {
  /** The spec's groups: the profiles, models and clusters the search may use, and where it starts. */
  readonly groups: readonly SimNodeGroup[];
  /** Share of each class's requests that must meet its SLO (e.g. 0.99). */
  readonly targetAttainment: number;
  readonly policy: string;
  /** Runs the workload on a fleet (the simulator under the chosen policy). */
  readonly evaluate: (groups: readonly SimNodeGroup[]) => PolicySummary;
  /** Most nodes a candidate may have (default 4 × the spec's, at least 64). */
  readonly maxNodes?: number;
  /**
   * Models the workload asks for: groups serving none of them cannot help and start (and stay) at
   * zero nodes. Default: every group counts.
   */
  readonly neededModels?: ReadonlySet<string>;
  /** Most simulations the search may run (default 80). */
  readonly maxTrials?: number;
  /** Called after each simulation. */
  readonly onTrial?: (trial: CapacityTrial, trials: number, maxTrials: number) => void;
}

/** Rated (peak) watts of one node of a group. */
export function ratedWattsOf(group: SimNodeGroup): number {
  const profile = getProfile(group.profile);
  if (profile === undefined) throw new RangeError(`unknown accelerator profile ${JSON.stringify(group.profile)}`);
  return powerLimitRange({ profile, chipCount: group.chips ?? profile.referenceChipsPerNode }).maxWatts;
}

export function fleetMixOf(groups: readonly SimNodeGroup[]): FleetMix {
  return {
    groups: groups.map((g) => ({ cluster: g.cluster, profile: g.profile, count: g.count })),
    nodes: groups.reduce((sum, g) => sum + g.count, 0),
    ratedWatts: groups.reduce((sum, g) => sum + g.count * ratedWattsOf(g), 0),
  };
}

/** A fleet in a line: `2× h100 in fra, 4× l4 in iad` (empty groups left out). */
export function describeFleetMix(mix: FleetMix): string {
  return mix.groups
    .filter((g) => g.count > 0)
    .map((g) => `${g.count}× ${g.profile} in ${g.cluster}`)
    .join(', ');
}

/** Whether every class that has requests met the target (refused work counts as missed). */
export function meetsTarget(summary: PolicySummary, target: number): boolean {
  return Object.values(summary.attainment).every((share) => share === undefined || share >= target);
}

export function searchCapacity(options: CapacitySearchOptions): CapacityAnswer {
  const { groups: spec, targetAttainment, policy } = options;
  if (!(targetAttainment > 0 && targetAttainment <= 1)) {
    throw new RangeError(`target attainment must be in (0, 1], got ${targetAttainment}`);
  }
  const specNodes = spec.reduce((sum, g) => sum + g.count, 0);
  const maxNodes = options.maxNodes ?? Math.max(64, 4 * specNodes);
  const maxTrials = options.maxTrials ?? 80;
  const trials: CapacityTrial[] = [];
  const seen = new Map<string, CapacityTrial>();

  const withCounts = (counts: readonly number[]): SimNodeGroup[] =>
    spec.map((group, i) => ({ ...group, count: counts[i]! })).filter((group) => group.count > 0);
  const run = (counts: readonly number[]): CapacityTrial | undefined => {
    const key = counts.join(',');
    const known = seen.get(key);
    if (known !== undefined) return known;
    if (trials.length >= maxTrials) return undefined;
    const groups = withCounts(counts);
    if (groups.length === 0) return undefined;
    const summary = options.evaluate(groups);
    const trial: CapacityTrial = {
      fleet: fleetMixOf(groups),
      overallAttainment: summary.overallAttainment,
      attainment: summary.attainment,
      peakFleetWatts: summary.peakFleetWatts,
      joulesPer1kTokens: summary.joulesPer1kTokens,
      meetsTarget: meetsTarget(summary, targetAttainment),
    };
    seen.set(key, trial);
    trials.push(trial);
    options.onTrial?.(trial, trials.length, maxTrials);
    return trial;
  };
  const answer = (smallest: CapacityTrial | undefined, reason?: string): CapacityAnswer => ({
    policy,
    targetAttainment,
    smallest,
    ...(reason === undefined ? {} : { reason }),
    trials,
  });

  // 1. Grow until the target is met (groups serving nothing the workload asks for stay at zero).
  const useful = (group: SimNodeGroup): boolean =>
    options.neededModels === undefined || group.models.some((model) => options.neededModels!.has(model));
  let counts = spec.map((g) => (useful(g) ? g.count : 0));
  let best = run(counts);
  while (best !== undefined && !best.meetsTarget) {
    const doubled = counts.map((c) => c * 2);
    if (doubled.reduce((a, b) => a + b, 0) > maxNodes) {
      return answer(undefined, `no fleet up to ${maxNodes} nodes (the spec's groups, doubled) meets the target`);
    }
    counts = doubled;
    best = run(counts);
  }
  if (best === undefined)
    return answer(undefined, `the search ran out of trials (${maxTrials}) before any fleet met the target`);

  // 2. Shrink uniformly: the smallest scale in (0, 1] of the meeting fleet that still meets it.
  let low = 0;
  let high = 1;
  const base = counts;
  for (let step = 0; step < 5; step++) {
    const scale = (low + high) / 2;
    const scaled = base.map((c) => Math.max(0, Math.round(c * scale)));
    const trial = run(scaled);
    if (trial === undefined) break;
    if (trial.meetsTarget) {
      high = scale;
      if (isSmaller(trial, best)) {
        best = trial;
        counts = scaled;
      }
    } else {
      low = scale;
    }
  }

  // 3. Remove single nodes greedily, the most watts saved first.
  for (;;) {
    const removals = counts
      .map((count, i) => ({ i, saves: count > 0 ? ratedWattsOf(spec[i]!) : 0 }))
      .filter((r) => r.saves > 0)
      .sort((a, b) => b.saves - a.saves);
    let improved = false;
    for (const { i } of removals) {
      const fewer = counts.map((c, j) => (j === i ? c - 1 : c));
      const trial = run(fewer);
      if (trial?.meetsTarget === true) {
        best = trial;
        counts = fewer;
        improved = true;
        break;
      }
    }
    if (!improved) break;
  }
  return answer(best);
}

function isSmaller(a: CapacityTrial, b: CapacityTrial): boolean {
  return (
    a.fleet.ratedWatts < b.fleet.ratedWatts ||
    (a.fleet.ratedWatts === b.fleet.ratedWatts && a.fleet.nodes < b.fleet.nodes)
  );
}
