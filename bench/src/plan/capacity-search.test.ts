import { describe, expect, it } from 'vitest';
import { mixedPoissonStream } from '../sim/mixed-stream.js';
import { policyRunOf, POLICIES } from '../sim/policy-report.js';
import { type SimNodeGroup, simulate } from '../sim/simulator.js';
import { fleetMixOf, meetsTarget, ratedWattsOf, searchCapacity } from './capacity-search.js';
import type { PolicySummary } from './plan-report.js';

/** A stand-in for the simulator: each profile serves so many requests; attainment is served ÷ demand. */
function modelFleet(demand: number, speed: Readonly<Record<string, number>>) {
  const calls: string[] = [];
  const evaluate = (groups: readonly SimNodeGroup[]): PolicySummary => {
    calls.push(groups.map((g) => `${g.profile}:${g.count}`).join(','));
    const capacity = groups.reduce((sum, g) => sum + g.count * (speed[g.profile] ?? 0), 0);
    const share = Math.min(1, capacity / demand);
    return {
      policy: 'model',
      requests: demand,
      refused: 0,
      refusedByCode: {},
      ttftMs: { p50: 1, p90: 1, p99: 1 },
      totalMs: { p50: 1, p90: 1, p99: 1 },
      attainment: { interactive: share, standard: share, batch: undefined },
      overallAttainment: share,
      joulesPer1kTokens: 1,
      peakFleetWatts: fleetMixOf(groups).ratedWatts / 2,
      simulatedMs: 1,
    };
  };
  return { evaluate, calls };
}

const SPEC: SimNodeGroup[] = [
  { cluster: 'fra', profile: 'h100', count: 3, models: ['llama-3.1-8b'] },
  { cluster: 'iad', profile: 'l4', count: 4, models: ['llama-3.1-8b'] },
];

describe('searchCapacity', () => {
  it('finds a fleet that meets the target, no larger in watts than any meeting fleet it tried', () => {
    const { evaluate, calls } = modelFleet(100, { h100: 30, l4: 4 });
    const answer = searchCapacity({ groups: SPEC, targetAttainment: 0.99, policy: 'model', evaluate });
    const smallest = answer.smallest!;
    expect(smallest.meetsTarget).toBe(true);
    expect(smallest.fleet.nodes).toBeLessThan(7);
    for (const trial of answer.trials.filter((t) => t.meetsTarget)) {
      expect(smallest.fleet.ratedWatts).toBeLessThanOrEqual(trial.fleet.ratedWatts);
    }
    // One node fewer of any kind misses: a local minimum.
    for (const group of smallest.fleet.groups.filter((g) => g.count > 0)) {
      const fewer = smallest.fleet.groups.map((g) => (g === group ? { ...g, count: g.count - 1 } : g));
      const capacity = fewer.reduce((sum, g) => sum + g.count * (g.profile === 'h100' ? 30 : 4), 0);
      expect(capacity).toBeLessThan(99);
    }
    expect(new Set(calls).size).toBe(calls.length);
    expect(answer.trials).toHaveLength(calls.length);
  });

  it('grows a fleet too small for the workload until it meets the target', () => {
    const { evaluate } = modelFleet(400, { h100: 30, l4: 4 });
    const answer = searchCapacity({ groups: SPEC, targetAttainment: 0.95, policy: 'model', evaluate });
    expect(answer.trials[0]!.meetsTarget).toBe(false);
    expect(answer.smallest!.meetsTarget).toBe(true);
    expect(answer.smallest!.fleet.nodes).toBeGreaterThan(7);
  });

  it('says why when no fleet within the limits meets the target', () => {
    const { evaluate } = modelFleet(10_000, { h100: 30, l4: 4 });
    const answer = searchCapacity({ groups: SPEC, targetAttainment: 0.99, policy: 'model', evaluate, maxNodes: 40 });
    expect(answer.smallest).toBeUndefined();
    expect(answer.reason).toMatch(/40 nodes/);
    const capped = searchCapacity({ groups: SPEC, targetAttainment: 0.99, policy: 'model', evaluate, maxTrials: 2 });
    expect(capped.smallest).toBeUndefined();
    expect(capped.trials).toHaveLength(2);
  });

  it('refuses a target outside (0, 1] and an unknown profile', () => {
    const { evaluate } = modelFleet(1, { h100: 1 });
    expect(() => searchCapacity({ groups: SPEC, targetAttainment: 1.5, policy: 'x', evaluate })).toThrow(RangeError);
    expect(() => ratedWattsOf({ cluster: 'fra', profile: 'tpu9', count: 1, models: [] })).toThrow(/tpu9/);
  });

  it('counts a class without requests as met, and a missing class share as missed', () => {
    const { evaluate } = modelFleet(10, { h100: 5 });
    const summary = evaluate([{ cluster: 'fra', profile: 'h100', count: 1, models: [] }]);
    expect(meetsTarget(summary, 0.5)).toBe(true);
    expect(meetsTarget(summary, 0.51)).toBe(false);
  });

  it('drives the real simulator: fewer nodes than the spec when the spec is oversized', () => {
    const requests = mixedPoissonStream(1_200, 40, 2, { input: [200, 1_200], output: [20, 200] });
    const topology = {
      clusters: [
        { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 200_000 },
        { name: 'iad', location: 'Ashburn', powerBudgetWatts: 200_000 },
      ],
      regions: [],
    };
    const input = { topology, requests, seed: 4 };
    const answer = searchCapacity({
      groups: SPEC,
      targetAttainment: 0.99,
      policy: 'switchyard',
      maxTrials: 20,
      evaluate: (groups) =>
        policyRunOf(
          'switchyard',
          { ...input, groups },
          simulate({ ...input, groups, placement: POLICIES['switchyard']! }),
        ).summary,
    });
    expect(answer.smallest?.meetsTarget).toBe(true);
    expect(answer.smallest!.fleet.ratedWatts).toBeLessThan(fleetMixOf(SPEC).ratedWatts);
  });

  it('leaves out groups that serve none of the models the workload asks for', () => {
    const { evaluate, calls } = modelFleet(100, { h100: 30, l4: 4 });
    const withCpu: SimNodeGroup[] = [...SPEC, { cluster: 'iad', profile: 'cpu', count: 3, models: ['tiny-llama'] }];
    const answer = searchCapacity({
      groups: withCpu,
      targetAttainment: 0.99,
      policy: 'model',
      evaluate,
      neededModels: new Set(['llama-3.1-8b']),
    });
    expect(answer.smallest!.fleet.groups.some((g) => g.profile === 'cpu')).toBe(false);
    expect(calls.every((call) => !call.includes('cpu'))).toBe(true);
  });
});
