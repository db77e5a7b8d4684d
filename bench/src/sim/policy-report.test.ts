import { describe, expect, it } from 'vitest';
import { cdfOf, comparePolicies, formatPolicyComparison, POLICIES, policyRunOf } from './policy-report.js';
import { mixedPoissonStream } from './mixed-stream.js';
import type { SimulationInput } from './simulator.js';

const INPUT: SimulationInput = {
  topology: {
    clusters: [
      { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 100_000 },
      { name: 'iad', location: 'Ashburn', powerBudgetWatts: 100_000 },
    ],
    regions: [],
  },
  groups: [
    { cluster: 'fra', profile: 'h100', count: 2, models: ['llama-3.1-8b'] },
    { cluster: 'iad', profile: 'l4', count: 3, models: ['llama-3.1-8b'] },
  ],
  requests: mixedPoissonStream(1_500, 50, 3, { input: [200, 1_700], output: [20, 220] }),
  seed: 5,
};

describe('policy comparison', () => {
  const runs = comparePolicies(INPUT);
  const summaries = runs.map((run) => run.summary);

  it('runs every policy on the same workload and accounts for every request', () => {
    expect(summaries.map((s) => s.policy)).toEqual(Object.keys(POLICIES));
    for (const s of summaries) {
      expect(s.requests).toBe(1_500);
      expect(s.ttftMs.p99).toBeGreaterThanOrEqual(s.ttftMs.p50);
      expect(s.joulesPer1kTokens).toBeGreaterThan(0);
    }
  });

  it("finds Switchyard's placement at least as good on SLOs and cheaper in energy than blind spreading", () => {
    const by = Object.fromEntries(summaries.map((s) => [s.policy, s]));
    const switchyard = by['switchyard']!;
    for (const baseline of ['random', 'round-robin', 'least-loaded']) {
      expect(switchyard.joulesPer1kTokens).toBeLessThan(by[baseline]!.joulesPer1kTokens);
      expect(switchyard.attainment.interactive).toBeGreaterThanOrEqual(by[baseline]!.attainment.interactive! - 0.01);
    }
  });

  it('counts refused work as missed, and formats a table of every policy', () => {
    const result = {
      nodes: 1,
      simulatedMs: 10,
      powerLimitChanges: 0,
      series: { bucketMs: 1000, clusters: [], peakFleetWatts: 0 },
      outcomes: [
        {
          sloClass: 'interactive' as const,
          refused: 'NO_CAPACITY',
          ttftMs: 0,
          totalMs: 0,
          waitedMs: 1000,
          outputTokens: 0,
          energyJoules: 0,
          cluster: undefined,
        },
        {
          sloClass: 'interactive' as const,
          refused: undefined,
          ttftMs: 200,
          totalMs: 900,
          waitedMs: 0,
          outputTokens: 10,
          energyJoules: 5,
          cluster: 'fra',
        },
      ],
    };
    const { summary } = policyRunOf('x', { ...INPUT, requests: INPUT.requests.slice(0, 2) }, result);
    expect(summary.attainment).toEqual({ interactive: 0.5, standard: undefined, batch: undefined });
    expect(summary.refused).toBe(1);
    expect(summary.refusedByCode).toEqual({ NO_CAPACITY: 1 });
    expect(summary.overallAttainment).toBe(0.5);
    expect(formatPolicyComparison(runs)).toMatch(/round-robin[\s\S]*switchyard/);
  });

  it('draws each run over time: every cluster, budget and power in watts, utilisation in 0..1', () => {
    for (const run of runs) {
      expect(run.series.clusters.map((c) => c.cluster)).toEqual(['fra', 'iad']);
      for (const cluster of run.series.clusters) {
        expect(cluster.powerBudgetWatts).toBe(100_000);
        expect(cluster.powerWatts.length).toBeGreaterThan(10);
        expect(Math.min(...cluster.powerWatts.slice(0, -1))).toBeGreaterThan(0);
        expect(cluster.utilisation.every((u) => u >= 0 && u <= 1)).toBe(true);
      }
      expect(run.summary.peakFleetWatts).toBeGreaterThan(0);
      expect(run.ttftCdf.at(-1)?.fraction).toBe(1);
    }
  });

  it('builds a CDF of at most the points asked for, ascending, ending at the maximum', () => {
    const sorted = Array.from({ length: 1_001 }, (_, i) => i);
    const cdf = cdfOf(sorted, 100);
    expect(cdf.length).toBeLessThanOrEqual(101);
    expect(cdf.at(-1)).toEqual({ ms: 1_000, fraction: 1 });
    expect(cdf.every((p, i) => i === 0 || (p.ms >= cdf[i - 1]!.ms && p.fraction > cdf[i - 1]!.fraction))).toBe(true);
    expect(cdfOf([])).toEqual([]);
    expect(cdfOf([5])).toEqual([{ ms: 5, fraction: 1 }]);
  });
});
