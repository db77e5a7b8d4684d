import { describe, expect, it } from 'vitest';
import { comparePolicies, formatPolicyComparison, POLICIES, summarize } from './policy-report.js';
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
  const summaries = comparePolicies(INPUT);

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
      outcomes: [
        {
          sloClass: 'interactive' as const,
          refused: 'NO_CAPACITY',
          ttftMs: 0,
          totalMs: 0,
          outputTokens: 0,
          energyJoules: 0,
        },
        {
          sloClass: 'interactive' as const,
          refused: undefined,
          ttftMs: 200,
          totalMs: 900,
          outputTokens: 10,
          energyJoules: 5,
        },
      ],
    };
    const summary = summarize('x', { ...INPUT, requests: INPUT.requests.slice(0, 2) }, result);
    expect(summary.attainment).toEqual({ interactive: 0.5, standard: undefined, batch: undefined });
    expect(summary.refused).toBe(1);
    expect(formatPolicyComparison(summaries)).toMatch(/round-robin[\s\S]*switchyard/);
  });
});
