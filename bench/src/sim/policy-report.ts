/**
 * What a simulation run means to a capacity planner, per placement policy on the same workload:
 * TTFT percentiles, SLO attainment per class (refused work counts as missed), energy per 1k
 * tokens. Policies are placement pipelines of the scheduler's own plugins, so a baseline is the same
 * framework configured differently, never a second implementation.
 */
import type { SloClass } from '@switchyard/protocol';
import { DEFAULT_PLACEMENT_CONFIG, LATENCY_PLACEMENT_CONFIG, type PlacementConfig } from '@switchyard/scheduler';
import { latencyStats } from '../report/percentiles.js';
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

/** What each class is judged against (the scheduler's slo-aware defaults). */
export interface SloTargets {
  readonly interactiveTtftMs: number;
  readonly standardTotalMs: number;
  readonly batchTotalMs: number;
}
export const DEFAULT_SLO_TARGETS: SloTargets = {
  interactiveTtftMs: 1_000,
  standardTotalMs: 30_000,
  batchTotalMs: 3_600_000,
};

export interface PolicySummary {
  readonly policy: string;
  readonly requests: number;
  readonly refused: number;
  readonly ttftMs: { readonly p50: number; readonly p99: number };
  readonly attainment: Readonly<Record<SloClass, number | undefined>>;
  /** Joules per 1,000 tokens (prompt and output) of served work. */
  readonly joulesPer1kTokens: number;
  readonly simulatedMs: number;
}

/** Summarises one run; `inputTokens` of served requests come from the input. */
export function summarize(
  policy: string,
  input: SimulationInput,
  result: SimulationResult,
  targets: SloTargets = DEFAULT_SLO_TARGETS,
): PolicySummary {
  const met: Record<SloClass, number> = { interactive: 0, standard: 0, batch: 0 };
  const total: Record<SloClass, number> = { interactive: 0, standard: 0, batch: 0 };
  const ttfts: number[] = [];
  let refused = 0;
  let joules = 0;
  let tokens = 0;
  result.outcomes.forEach((outcome, i) => {
    total[outcome.sloClass]++;
    if (outcome.refused !== undefined) {
      refused++;
      return;
    }
    ttfts.push(outcome.ttftMs);
    joules += outcome.energyJoules;
    tokens += outcome.outputTokens + (input.requests[i]?.inputTokens ?? 0);
    const ok =
      outcome.sloClass === 'interactive'
        ? outcome.ttftMs <= targets.interactiveTtftMs
        : outcome.totalMs <= (outcome.sloClass === 'standard' ? targets.standardTotalMs : targets.batchTotalMs);
    if (ok) met[outcome.sloClass]++;
  });
  const share = (c: SloClass): number | undefined => (total[c] === 0 ? undefined : met[c] / total[c]);
  const stats = ttfts.length === 0 ? { p50: Number.NaN, p99: Number.NaN } : latencyStats(ttfts);
  return {
    policy,
    requests: result.outcomes.length,
    refused,
    ttftMs: { p50: stats.p50, p99: stats.p99 },
    attainment: { interactive: share('interactive'), standard: share('standard'), batch: share('batch') },
    joulesPer1kTokens: tokens === 0 ? Number.NaN : (1000 * joules) / tokens,
    simulatedMs: result.simulatedMs,
  };
}

/** Runs the same input under each policy. */
export function comparePolicies(
  input: SimulationInput,
  policies: Readonly<Record<string, PlacementConfig>> = POLICIES,
): PolicySummary[] {
  return Object.entries(policies).map(([name, placement]) => summarize(name, input, simulate({ ...input, placement })));
}

function percent(share: number | undefined): string {
  return share === undefined ? '—' : `${(100 * share).toFixed(1)}%`;
}

/** The comparison as a table. */
export function formatPolicyComparison(summaries: readonly PolicySummary[]): string {
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
