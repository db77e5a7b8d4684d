import { describe, expect, it } from 'vitest';
import { mixedPoissonStream } from './mixed-stream.js';
import { type SimRequest, type SimulationInput, simulate } from './simulator.js';

const TOPOLOGY = {
  clusters: [
    { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 1_000_000 },
    { name: 'iad', location: 'Ashburn', powerBudgetWatts: 1_000_000 },
  ],
  regions: [],
};

function stream(count: number, meanGapMs: number): SimRequest[] {
  return mixedPoissonStream(count, meanGapMs, 1, { input: [100, 2_100], output: [10, 310] });
}

function input(requests: readonly SimRequest[], seed = 7, count = 2, maxBatchSize?: number): SimulationInput {
  const batch = maxBatchSize === undefined ? {} : { maxBatchSize };
  return {
    topology: TOPOLOGY,
    groups: [
      { cluster: 'fra', profile: 'h100', count, models: ['llama-3.1-8b'], ...batch },
      { cluster: 'iad', profile: 'trn2', count, models: ['llama-3.1-8b'], ...batch },
    ],
    requests,
    seed,
  };
}

function p50(values: number[]): number {
  return values.sort((a, b) => a - b)[values.length >> 1]!;
}

describe('simulate', () => {
  it('gives every request exactly one outcome, and is deterministic for a seed', () => {
    const requests = stream(3_000, 20);
    const first = simulate(input(requests));
    const again = simulate(input(requests));
    expect(first.outcomes).toHaveLength(requests.length);
    expect(first.outcomes.every((o) => o !== undefined)).toBe(true);
    expect(again).toEqual(first);
    // The engines' jitter is seeded: another seed moves the timings.
    expect(simulate(input(requests, 8)).outcomes).not.toEqual(first.outcomes);
    expect(first.nodes).toBe(4);
    expect(first.simulatedMs).toBeGreaterThanOrEqual(requests.at(-1)!.arrivalMs);
  });

  it('serves a light load quickly and every output token of it', () => {
    const requests = stream(500, 200);
    const { outcomes } = simulate(input(requests));
    expect(outcomes.filter((o) => o.refused !== undefined)).toEqual([]);
    outcomes.forEach((outcome, i) => {
      expect(outcome.outputTokens).toBe(requests[i]!.outputTokens);
      expect(outcome.ttftMs).toBeGreaterThan(0);
      expect(outcome.totalMs).toBeGreaterThan(outcome.ttftMs);
      expect(outcome.energyJoules).toBeGreaterThan(0);
    });
  });

  it('queues and then refuses when small nodes get far more than they can serve', () => {
    // Batches of 8: the queue-room filter admits 5 × 8 per node before NO_CAPACITY.
    const light = simulate(input(stream(400, 500), 7, 1, 8));
    const heavy = simulate(input(stream(4_000, 0.5), 7, 1, 8));
    const served = (r: typeof heavy): number[] =>
      r.outcomes.filter((o) => o.refused === undefined).map((o) => o.ttftMs);
    expect(p50(served(heavy))).toBeGreaterThan(10 * p50(served(light)));
    expect(heavy.outcomes.some((o) => o.refused === 'NO_CAPACITY')).toBe(true);
  });

  it('refuses a model no node serves, and an unknown one, with typed codes', () => {
    const requests: SimRequest[] = [
      { arrivalMs: 0, model: 'llama-3.1-405b', inputTokens: 100, outputTokens: 10, sloClass: 'interactive' },
      { arrivalMs: 1, model: 'no-such-model', inputTokens: 100, outputTokens: 10, sloClass: 'interactive' },
    ];
    const { outcomes } = simulate({
      ...input(requests),
      groups: [{ cluster: 'fra', profile: 'l4', count: 1, models: [] }],
    });
    expect(outcomes.map((o) => o.refused)).toEqual(['UNKNOWN_MODEL', 'UNKNOWN_MODEL']);
  });

  it('names an unknown accelerator profile', () => {
    expect(() =>
      simulate({ ...input([]), groups: [{ cluster: 'fra', profile: 'tpu9', count: 1, models: [] }] }),
    ).toThrow(/tpu9/);
  });
});
