import { describe, expect, it } from 'vitest';
import { DEFAULT_POWER_THRESHOLDS, type PowerThresholds } from './cluster-state.js';
import { DEFAULT_SAFETY_MARGIN, Topology, TopologyError, type TopologySpec } from './topology.js';

const SPEC: TopologySpec = {
  clusters: [
    { name: 'edge-fra-1', location: 'Frankfurt', powerBudgetWatts: 5_000_000 },
    { name: 'edge-ams-1', location: 'Amsterdam', powerBudgetWatts: 2_000_000, safetyMargin: 0.1 },
  ],
  regions: [
    { name: 'eu-central', latencyMs: { 'edge-fra-1': 4, 'edge-ams-1': 12 } },
    { name: 'us-east', latencyMs: { 'edge-fra-1': 90 } },
  ],
};

describe('Topology from a spec', () => {
  it('creates a budgeted cluster per configured site, with the default margin unless it sets one', () => {
    const topology = new Topology(SPEC);
    const fra = topology.find('edge-fra-1')!;
    const ams = topology.find('edge-ams-1')!;
    expect(fra).toMatchObject({ name: 'edge-fra-1', location: 'Frankfurt', budgetWatts: 5_000_000 });
    expect(fra.safetyMargin).toBe(DEFAULT_SAFETY_MARGIN);
    expect(ams.safetyMargin).toBe(0.1);
    expect(ams.usableWatts).toBeCloseTo(1_800_000, 6);
    expect([...topology.all()].map((c) => c.name)).toEqual(['edge-fra-1', 'edge-ams-1']);
    expect(topology.thresholds).toBe(DEFAULT_POWER_THRESHOLDS);
    expect(fra.thresholds).toBe(DEFAULT_POWER_THRESHOLDS);
  });

  it('knows its regions and their configured round trips', () => {
    const topology = new Topology(SPEC);
    expect(topology.regionNames).toEqual(['eu-central', 'us-east']);
    expect(topology.hasRegion('us-east')).toBe(true);
    expect(topology.hasRegion('ap-south')).toBe(false);
    const fra = topology.find('edge-fra-1')!;
    const ams = topology.find('edge-ams-1')!;
    expect(fra.networkMs('eu-central')).toBe(4);
    expect(fra.networkMs('us-east')).toBe(90);
    expect(ams.networkMs('us-east')).toBe(250); // not listed in us-east's row
    expect(ams.networkMs(undefined)).toBe(0);
  });

  it('applies its unlisted-latency default and thresholds to configured and later-seen clusters', () => {
    const thresholds: PowerThresholds = { steerAt: 0.7, deferAt: 0.8, capAt: 0.9, releaseAt: 0.6 };
    const topology = new Topology({ ...SPEC, unlistedLatencyMs: 400, powerThresholds: thresholds });
    expect(topology.find('edge-ams-1')!.networkMs('us-east')).toBe(400);
    expect(topology.find('edge-ams-1')!.thresholds).toBe(thresholds);
    const seen = topology.cluster('edge-new-1');
    expect(seen.networkMs('us-east')).toBe(400);
    expect(seen.thresholds).toBe(thresholds);
  });

  it('is empty without a spec', () => {
    const topology = new Topology();
    expect([...topology.all()]).toEqual([]);
    expect(topology.regionNames).toEqual([]);
  });
});

describe('Topology refuses bad configuration with TopologyError', () => {
  const cluster = { name: 'c', location: 'x', powerBudgetWatts: 1_000 };
  const cases: { name: string; spec: TopologySpec; message: RegExp }[] = [
    {
      name: 'a cluster twice',
      spec: { clusters: [cluster, cluster], regions: [] },
      message: /cluster c is configured twice/,
    },
    {
      name: 'a region twice',
      spec: {
        clusters: [cluster],
        regions: [
          { name: 'r', latencyMs: {} },
          { name: 'r', latencyMs: {} },
        ],
      },
      message: /region r is configured twice/,
    },
    {
      name: 'latency to an unknown cluster',
      spec: { clusters: [cluster], regions: [{ name: 'r', latencyMs: { d: 5 } }] },
      message: /region r lists latency to unknown cluster d/,
    },
    ...[-1, 60_001, Number.NaN, Number.POSITIVE_INFINITY].map((rttMs) => ({
      name: `latency ${rttMs}`,
      spec: { clusters: [cluster], regions: [{ name: 'r', latencyMs: { c: rttMs } }] },
      message: /r → c: latency must be 0–60000 ms/,
    })),
    ...[0, -5, Number.NaN, Number.POSITIVE_INFINITY].map((powerBudgetWatts) => ({
      name: `budget ${powerBudgetWatts}`,
      spec: { clusters: [{ ...cluster, powerBudgetWatts }], regions: [] },
      message: /cluster c: power budget must be a positive number of watts/,
    })),
    ...[-0.01, 0.51, Number.NaN].map((safetyMargin) => ({
      name: `safety margin ${safetyMargin}`,
      spec: { clusters: [{ ...cluster, safetyMargin }], regions: [] },
      message: /cluster c: safety margin must be between 0 and 0.5/,
    })),
    // The stages must come in order, or a cluster could defer batch work before it steers.
    {
      name: 'power thresholds out of order',
      spec: {
        clusters: [cluster],
        regions: [],
        powerThresholds: { steerAt: 0.95, deferAt: 0.85, capAt: 1, releaseAt: 0.8 },
      },
      message: /power thresholds/,
    },
  ];

  it.each(cases)('$name', ({ spec, message }) => {
    expect(() => new Topology(spec)).toThrow(TopologyError);
    expect(() => new Topology(spec)).toThrow(message);
  });

  it('accepts the edges of the ranges', () => {
    const topology = new Topology({
      clusters: [
        { name: 'a', location: '', powerBudgetWatts: 1e-3, safetyMargin: 0 },
        { name: 'b', location: '', powerBudgetWatts: 1e12, safetyMargin: 0.5 },
      ],
      regions: [{ name: 'r', latencyMs: { a: 0, b: 60_000 } }],
    });
    expect(topology.find('a')!.networkMs('r')).toBe(0);
    expect(topology.find('b')!.networkMs('r')).toBe(60_000);
  });
});

describe('Topology.cluster and find', () => {
  it('creates an unbudgeted cluster on first sight and returns the same state afterwards', () => {
    const topology = new Topology(SPEC);
    expect(topology.find('edge-new-1')).toBeUndefined();
    const created = topology.cluster('edge-new-1');
    expect(created.budgeted).toBe(false);
    expect(created.stage).toBe('normal');
    expect(topology.cluster('edge-new-1')).toBe(created);
    expect(topology.find('edge-new-1')).toBe(created);
    expect(topology.cluster('edge-fra-1')).toBe(topology.find('edge-fra-1'));
  });
});

describe('Topology.setBudget', () => {
  const cases: {
    name: string;
    cluster: string;
    budgetWatts: number;
    safetyMargin?: number;
    expectMargin: number;
  }[] = [
    { name: 'keeps the configured margin', cluster: 'edge-ams-1', budgetWatts: 1_000_000, expectMargin: 0.1 },
    { name: 'takes a new margin', cluster: 'edge-ams-1', budgetWatts: 1_000_000, safetyMargin: 0.2, expectMargin: 0.2 },
    {
      name: 'budgets a cluster first seen unbudgeted, with the default margin',
      cluster: 'edge-new-1',
      budgetWatts: 300_000,
      expectMargin: DEFAULT_SAFETY_MARGIN,
    },
    { name: 'budgets an unknown cluster', cluster: 'edge-new-2', budgetWatts: 1, safetyMargin: 0, expectMargin: 0 },
  ];

  it.each(cases)('$name', ({ cluster, budgetWatts, safetyMargin, expectMargin }) => {
    const topology = new Topology(SPEC);
    topology.cluster('edge-new-1');
    const state = topology.setBudget(cluster, budgetWatts, safetyMargin);
    expect(state).toBe(topology.find(cluster));
    expect(state.budgeted).toBe(true);
    expect(state.budgetWatts).toBe(budgetWatts);
    expect(state.safetyMargin).toBe(expectMargin);
  });

  it('changes the stage of a loaded cluster at once, up to defer: only the power controller caps', () => {
    const topology = new Topology(SPEC);
    const fra = topology.find('edge-fra-1')!;
    fra.measuredWatts = 4_000_000;
    expect(fra.stage).toBe('normal');
    topology.setBudget('edge-fra-1', 4_600_000, 0);
    expect(fra.stage).toBe('steer');
    topology.setBudget('edge-fra-1', 4_000_000);
    expect(fra.stage).toBe('defer');
    topology.setBudget('edge-fra-1', 3_000_000); // measured now a third over the budget
    expect(fra.stage).toBe('defer');
    fra.capping = true;
    expect(fra.stage).toBe('cap');
    topology.setBudget('edge-fra-1', 10_000_000);
    expect(fra.stage).toBe('cap');
    fra.capping = false;
    expect(fra.stage).toBe('normal');
  });

  it.each<[number, number | undefined]>([
    [0, undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    [1_000, 0.9],
    [1_000, -0.1],
  ])('refuses budget %d with margin %s and leaves the cluster as it was', (budgetWatts, safetyMargin) => {
    const topology = new Topology(SPEC);
    expect(() => topology.setBudget('edge-ams-1', budgetWatts, safetyMargin)).toThrow(TopologyError);
    expect(topology.find('edge-ams-1')).toMatchObject({ budgetWatts: 2_000_000, safetyMargin: 0.1 });
  });
});

describe('Topology.observeLatency', () => {
  it('applies a sample from a known region to a known cluster, smoothing later ones', () => {
    const topology = new Topology(SPEC);
    expect(topology.observeLatency('us-east', 'edge-ams-1', 100)).toBe(true);
    expect(topology.find('edge-ams-1')!.networkMs('us-east')).toBe(100);
    expect(topology.observeLatency('us-east', 'edge-ams-1', 200)).toBe(true);
    expect(topology.find('edge-ams-1')!.networkMs('us-east')).toBeCloseTo(120, 9);
    // The configured figure for the other cluster is untouched.
    expect(topology.find('edge-fra-1')!.networkMs('us-east')).toBe(90);
  });

  it('replaces a configured figure with the first measurement', () => {
    const topology = new Topology(SPEC);
    expect(topology.observeLatency('eu-central', 'edge-fra-1', 30)).toBe(true);
    expect(topology.find('edge-fra-1')!.networkMs('eu-central')).toBe(30);
  });

  it.each<[string, string, number]>([
    ['ap-south', 'edge-fra-1', 10], // unknown region
    ['eu-central', 'edge-nowhere', 10], // unknown cluster
    ['eu-central', 'edge-fra-1', -1],
    ['eu-central', 'edge-fra-1', Number.NaN],
  ])('drops a sample from %s to %s of %d ms', (region, cluster, rttMs) => {
    const topology = new Topology(SPEC);
    expect(topology.observeLatency(region, cluster, rttMs)).toBe(false);
    expect(topology.find('edge-fra-1')!.networkMs('eu-central')).toBe(4);
    expect(topology.find('edge-nowhere')).toBeUndefined();
  });
});
