/**
 * What a simulation run means to a capacity planner, per placement policy on the same workload:
 * TTFT percentiles, SLO attainment per class (refused work counts as missed), energy per 1k
 * tokens. Policies are placement pipelines of the scheduler's own plugins, so a baseline is the same
 * framework configured differently, never a second implementation.
 */
import { DEFAULT_SLO_TARGETS, meetsSloTarget, type SloClass, type SloTargets } from '@switchyard/protocol';
import { DEFAULT_PLACEMENT_CONFIG, LATENCY_PLACEMENT_CONFIG, type PlacementConfig } from '@switchyard/scheduler';
import type { CdfPoint, PolicyRun } from '../plan/plan-report.js';
import { percentile } from '../report/percentiles.js';
import { formatTable } from '../report/table.js';
import { type SimulationInput, type SimulationResult, simulate } from './simulator.js';

/** Placement pipelines compared in reports. */
export const POLICIES: Readonly<Record<string, PlacementConfig>> = {
  /** Any node that can take the request, at random (the scorer's score is ignored by the picker). */
  random: {
    filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit'],
    scorers: [{ name: 'batch-headroom', weight: 1 }],
    picker: 'random',
  },
  /** The next node that can take the request, in fleet order. */
  'round-robin': {
    filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit'],
    scorers: [{ name: 'batch-headroom', weight: 1 }],
    picker: 'round-robin',
  },
  /** The node with the most free batch slots. */
  'least-loaded': {
    filters: ['schedulable', 'model-supported', 'queue-room', 'memory-fit'],
    scorers: [{ name: 'batch-headroom', weight: 1 }],
    picker: 'max-score',
  },
  /** The soonest predicted completion, blind to power and SLO classes. */
  'latency-first': LATENCY_PLACEMENT_CONFIG,
  /** Switchyard's default: meet the SLO at the least energy, within every cluster's power budget. */
  switchyard: DEFAULT_PLACEMENT_CONFIG,
};

/** CDF of ascending `sorted` values at most `points` points, always including the extremes. */
export function cdfOf(sorted: readonly number[], points = 200): CdfPoint[] {
  if (sorted.length === 0) return [];
  const step = Math.max(1, Math.floor(sorted.length / points));
  const cdf: CdfPoint[] = [];
  for (let i = step - 1; i < sorted.length; i += step) cdf.push({ ms: sorted[i]!, fraction: (i + 1) / sorted.length });
  if (cdf.at(-1)?.fraction !== 1) cdf.push({ ms: sorted.at(-1)!, fraction: 1 });
  return cdf;
}

function spread(sorted: readonly number[]): { p50: number; p90: number; p99: number } {
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

/** One policy's run as the report shows it: summary, latency distributions, power and utilisation over time. */
export function policyRunOf(
  policy: string,
  input: SimulationInput,
  result: SimulationResult,
  targets: SloTargets = DEFAULT_SLO_TARGETS,
): PolicyRun {
  const met: Record<SloClass, number> = { interactive: 0, standard: 0, batch: 0 };
  const total: Record<SloClass, number> = { interactive: 0, standard: 0, batch: 0 };
  const refusedByCode: Record<string, number> = {};
  const ttfts: number[] = [];
  const totals: number[] = [];
  let refused = 0;
  let joules = 0;
  let tokens = 0;
  result.outcomes.forEach((outcome, i) => {
    total[outcome.sloClass]++;
    if (outcome.refused !== undefined) {
      refused++;
      refusedByCode[outcome.refused] = (refusedByCode[outcome.refused] ?? 0) + 1;
      return;
    }
    ttfts.push(outcome.ttftMs);
    totals.push(outcome.totalMs);
    joules += outcome.energyJoules;
    tokens += outcome.outputTokens + (input.requests[i]?.inputTokens ?? 0);
    if (meetsSloTarget(outcome.sloClass, outcome.ttftMs, outcome.totalMs, targets)) met[outcome.sloClass]++;
  });
  const share = (c: SloClass): number | undefined => (total[c] === 0 ? undefined : met[c] / total[c]);
  const served = result.outcomes.length;
  ttfts.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    summary: {
      policy,
      requests: served,
      refused,
      refusedByCode,
      ttftMs: spread(ttfts),
      totalMs: spread(totals),
      attainment: { interactive: share('interactive'), standard: share('standard'), batch: share('batch') },
      overallAttainment: served === 0 ? Number.NaN : (met.interactive + met.standard + met.batch) / served,
      joulesPer1kTokens: tokens === 0 ? Number.NaN : (1000 * joules) / tokens,
      peakFleetWatts: result.series.peakFleetWatts,
      simulatedMs: result.simulatedMs,
    },
    ttftCdf: cdfOf(ttfts),
    totalCdf: cdfOf(totals),
    series: { bucketMs: result.series.bucketMs, clusters: result.series.clusters },
  };
}

/** Runs the same input under each policy. */
export function comparePolicies(
  input: SimulationInput,
  policies: Readonly<Record<string, PlacementConfig>> = POLICIES,
  targets: SloTargets = DEFAULT_SLO_TARGETS,
): PolicyRun[] {
  return Object.entries(policies).map(([name, placement]) =>
    policyRunOf(name, input, simulate({ ...input, placement }), targets),
  );
}

function percent(share: number | undefined): string {
  return share === undefined ? '—' : `${(100 * share).toFixed(1)}%`;
}

/** The comparison as a table. */
export function formatPolicyComparison(runs: readonly PolicyRun[]): string {
  const summaries = runs.map((run) => run.summary);
  return formatTable(
    ['policy', 'TTFT p50 ms', 'TTFT p99 ms', 'interactive', 'standard', 'batch', 'refused', 'J / 1k tokens'],
    summaries.map((s) => [
      s.policy,
      Math.round(s.ttftMs.p50),
      Math.round(s.ttftMs.p99),
      percent(s.attainment.interactive),
      percent(s.attainment.standard),
      percent(s.attainment.batch),
      s.refused,
      s.joulesPer1kTokens.toFixed(1),
    ]),
  );
}
