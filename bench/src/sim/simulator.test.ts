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

function meanFrom(watts: readonly number[], from: number, to: number): number {
  return watts.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
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

  it('keeps a power-capped cluster within its budget: placement defers, batch work waits, the controller caps', () => {
    const requests = stream(3_000, 10);
    const run = (budgetWatts: number) =>
      simulate({
        topology: { clusters: [{ name: 'fra', location: 'Frankfurt', powerBudgetWatts: budgetWatts }], regions: [] },
        groups: [{ cluster: 'fra', profile: 'h100', count: 2, models: ['llama-3.1-8b'] }],
        requests,
        seed: 3,
      });
    const open = run(1_000_000);
    const tight = run(4_000);
    expect(open.series.peakFleetWatts).toBeGreaterThan(5_000);
    // A flood of deferred work released at once can overshoot for a heartbeat (placement's power
    // delta leaves prefill bursts out) until the controller caps; the budget holds on average.
    const [cluster] = tight.series.clusters;
    const over = cluster!.powerWatts.filter((watts) => watts > 4_000).length;
    expect(over / cluster!.powerWatts.length).toBeLessThan(0.05);
    expect(cluster!.powerWatts.reduce((a, b) => a + b, 0) / cluster!.powerWatts.length).toBeLessThan(4_000);
    expect(tight.powerLimitChanges).toBeGreaterThan(0);
    const batch = (r: typeof tight) => r.outcomes.filter((o) => o.sloClass === 'batch' && o.refused === undefined);
    // Batch work is deferred, not dropped: it waits for room and is served later.
    expect(batch(tight).length).toBe(batch(open).length);
    expect(Math.max(...batch(tight).map((o) => o.waitedMs))).toBeGreaterThan(10_000);
    expect(Math.max(...batch(open).map((o) => o.waitedMs))).toBe(0);
    // Interactive work that cannot get room within its wait is refused with the live code.
    expect(tight.outcomes.some((o) => o.sloClass === 'interactive' && o.refused === 'NO_CAPACITY')).toBe(true);
  });

  it('adds the round trip from the client region to the serving cluster to every latency', () => {
    const rtt: Record<string, Record<string, number>> = { eu: { fra: 10, iad: 95 }, us: { fra: 95, iad: 7 } };
    const requests = stream(400, 100).map((r, i) => ({ ...r, region: i % 2 === 0 ? 'eu' : 'us' }));
    const topology = { ...TOPOLOGY, regions: Object.entries(rtt).map(([name, latencyMs]) => ({ name, latencyMs })) };
    const withRegions = simulate({ ...input(requests), topology });
    const bare = simulate(input(stream(400, 100)));
    withRegions.outcomes.forEach((outcome, i) => {
      const roundTrip = rtt[i % 2 === 0 ? 'eu' : 'us']?.[outcome.cluster ?? ''] ?? Number.NaN;
      expect(outcome.ttftMs).toBeGreaterThanOrEqual(roundTrip);
      expect(outcome.totalMs).toBeGreaterThanOrEqual(outcome.ttftMs);
    });
    const meanTtft = (r: typeof bare) => r.outcomes.reduce((sum, o) => sum + o.ttftMs, 0) / r.outcomes.length;
    expect(meanTtft(withRegions)).toBeGreaterThan(meanTtft(bare) + 5);
  });

  it('reports progress as requests are decided, ending at the total', () => {
    const seen: number[] = [];
    simulate({ ...input(stream(1_000, 20)), onProgress: (decided, total) => seen.push(decided / total) });
    expect(seen.length).toBeGreaterThan(50);
    expect(seen.length).toBeLessThanOrEqual(201);
    expect(seen.at(-1)).toBe(1);
    expect(seen.every((f, i) => i === 0 || f > seen[i - 1]!)).toBe(true);
  });

  it('applies a budget cut at its virtual time: the cluster then stays under the new budget on average', () => {
    const requests = stream(3_000, 10);
    const run = (budgetChanges: { atMs: number; cluster: string; budgetWatts: number }[]) =>
      simulate({
        topology: { clusters: [{ name: 'fra', location: 'Frankfurt', powerBudgetWatts: 20_000 }], regions: [] },
        groups: [{ cluster: 'fra', profile: 'h100', count: 2, models: ['llama-3.1-8b'] }],
        requests,
        seed: 3,
        budgetChanges,
      });
    const uncut = run([]);
    const cut = run([{ atMs: 10_000, cluster: 'fra', budgetWatts: 4_000 }]);
    const [before, after] = [uncut.series.clusters[0]!, cut.series.clusters[0]!];
    // Until the cut both runs are the same; after it, the cut one is held under 4 kW.
    expect(after.powerWatts.slice(0, 9)).toEqual(before.powerWatts.slice(0, 9));
    expect(meanFrom(before.powerWatts, 12, 28)).toBeGreaterThan(4_000);
    expect(meanFrom(after.powerWatts, 12, 28)).toBeLessThan(4_000);
    expect(after.powerBudgetWatts).toBe(4_000);
    expect(cut.powerLimitChanges).toBeGreaterThan(uncut.powerLimitChanges);
  });
});
