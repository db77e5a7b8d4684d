import { ACCELERATOR_PROFILES, createRng, MODEL_CATALOG, type ModelSpec } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '../fleet/node-record.js';
import { addReservations, nodeRecord } from '../test-fixtures.js';
import { ClusterState } from '../topology/cluster-state.js';
import { estimateOn } from './estimate.js';
import { EstimateFloor, ShapeCurves, type FloorSetting } from './estimate-floor.js';
import type { Estimate, PlacementRequest } from './types.js';

type Rng = () => number;
const PROFILES = Object.values(ACCELERATOR_PROFILES);
const FIELDS = [
  'networkMs',
  'loadMs',
  'queueWaitMs',
  'prefillMs',
  'ttftMs',
  'decodeMs',
  'totalMs',
  'energyJoules',
] as const;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

interface Case {
  readonly curves: ShapeCurves;
  readonly model: ModelSpec;
  readonly request: PlacementRequest;
  /** A node of the shape at load `load` with prefill backlog `backlog` (and limit, cluster, models). */
  node(load: number, backlog: number): NodeRecord;
  readonly setting: FloorSetting;
}

/** A random shape, power limit, model, cluster round trip and request, and nodes of it at any load. */
function randomCase(rng: Rng): Case | undefined {
  const profile = pick(rng, PROFILES);
  const model = pick(rng, MODEL_CATALOG);
  if (profile.throughput[model.sizeClass] === undefined) return undefined;
  const chips = Math.max(1, Math.round(profile.referenceChipsPerNode * pick(rng, [0.5, 1, 2])));
  const maxBatchSize = pick(rng, [1, 2, 3, 8, 64, 300, 2048]);
  const peak = profile.peakWattsPerChip * chips;
  const powerLimitWatts = rng() < 0.4 ? peak : rng() < 0.8 ? Math.round((0.2 + 0.8 * rng()) * peak) : 0;
  const warm = rng() < 0.7;
  const cluster = new ClusterState('c');
  cluster.configureLatency('r', Math.round(rng() * 300));
  const region = rng() < 0.8 ? 'r' : undefined;
  const request: PlacementRequest = {
    requestId: 'q',
    model,
    inputTokens: 1 + Math.floor(rng() ** 2 * 100_000),
    maxOutputTokens: 1 + Math.floor(rng() * 4_000),
    priority: 'normal',
    sloClass: 'interactive',
    ...(region === undefined ? {} : { region }),
  };
  const hardware = { profile, chipCount: chips };
  const node = (load: number, backlog: number): NodeRecord => {
    const inFlight = Math.min(load, maxBatchSize);
    const record = nodeRecord({
      profile: profile.name,
      chips,
      maxBatchSize,
      inFlight,
      queueDepth: Math.min(backlog, load - inFlight),
      loaded: warm ? [model.name] : [],
      hbmUsedBytes: 0,
      powerDrawWatts: 0,
      powerLimitWatts,
    });
    record.clusterState = cluster;
    // Backlog beyond the reported queue comes from our own placements since the last report.
    record.assumedSinceHeartbeat = backlog - record.queueDepth;
    if (record.load < load) addReservations(record, load, { predictedServiceMs: 1 + rng() * 10_000 });
    return record;
  };
  return {
    curves: new ShapeCurves(hardware, maxBatchSize),
    model,
    request,
    node,
    setting: {
      networkMs: cluster.networkMs(region),
      coldStart: !warm,
      loadMs: warm ? 0 : estimateOn(node(0, 0), request).loadMs,
      limitWatts: powerLimitWatts > 0 ? powerLimitWatts : Number.POSITIVE_INFINITY,
      exactLimit: true,
    },
  };
}

function expectBelow(floor: Estimate, actual: Estimate, where: string): void {
  for (const field of FIELDS) expect(floor[field], `${where}: ${field}`).toBeLessThanOrEqual(actual[field]);
  expect(floor.powerDeltaWatts).toBeLessThanOrEqual(actual.powerDeltaWatts);
}

describe('EstimateFloor', () => {
  it('stays at or below estimateOn for every node of a range, any backlog above its own, on 600 random shapes', () => {
    const rng = createRng(11);
    let checked = 0;
    for (let trial = 0; trial < 600; trial++) {
      const c = randomCase(rng);
      if (c === undefined) continue;
      const batchLimit = c.curves.maxBatchSize;
      const curve = c.curves.forModel(c.model)!;
      const lo = Math.floor(rng() * batchLimit);
      const hi = lo + Math.floor(rng() * (batchLimit - lo));
      const backlog = Math.floor(rng() * 5);
      const floor = new EstimateFloor().fillRange(c.curves, curve, c.request, lo, hi, backlog, c.setting);
      // The same floor bounds shapes of a looser limit (a group's least) without the exact speeds.
      const loose = new EstimateFloor().fillRange(c.curves, curve, c.request, lo, hi, backlog, {
        ...c.setting,
        limitWatts: c.setting.limitWatts * (0.5 + 0.5 * rng()),
        exactLimit: false,
      });
      for (let load = lo; load <= hi; load += Math.max(1, Math.floor((hi - lo) / 7))) {
        const actual = estimateOn(c.node(load, backlog + Math.floor(rng() * 3)), c.request);
        expectBelow(floor, actual, `trial ${trial}, load ${load} of ${lo}…${hi}`);
        expectBelow(loose, actual, `trial ${trial}, load ${load} (looser limit)`);
        checked++;
      }
      const saturated = new EstimateFloor().fillSaturated(c.curves, curve, c.request, backlog, 0, c.setting);
      const actual = estimateOn(c.node(batchLimit + Math.floor(rng() * 3 * batchLimit), backlog + 2), c.request);
      expectBelow(saturated, actual, `trial ${trial}, saturated`);
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('is the estimate itself (within rounding) at a single load level', () => {
    const rng = createRng(12);
    for (let trial = 0; trial < 300; trial++) {
      const c = randomCase(rng);
      if (c === undefined) continue;
      const load = Math.floor(rng() * c.curves.maxBatchSize);
      const backlog = Math.floor(rng() * 3);
      const curve = c.curves.forModel(c.model)!;
      const floor = new EstimateFloor().fillRange(c.curves, curve, c.request, load, load, backlog, c.setting);
      const actual = estimateOn(c.node(load, backlog), c.request);
      for (const field of ['ttftMs', 'totalMs', 'energyJoules'] as const) {
        expect(Math.abs(floor[field] - actual[field])).toBeLessThanOrEqual(1e-9 * Math.max(1, actual[field]));
      }
    }
  });

  it('takes the least of two floors field by field', () => {
    const a = new EstimateFloor();
    const b = new EstimateFloor();
    Object.assign(a, { ttftMs: 5, totalMs: 50, energyJoules: 1, coldStart: true });
    Object.assign(b, { ttftMs: 7, totalMs: 40, energyJoules: 2, coldStart: false });
    a.lowerTo(b);
    expect({ ttftMs: a.ttftMs, totalMs: a.totalMs, energyJoules: a.energyJoules, coldStart: a.coldStart }).toEqual({
      ttftMs: 5,
      totalMs: 40,
      energyJoules: 1,
      coldStart: false,
    });
  });
});

describe('ShapeCurves', () => {
  it('has decode demand that never falls as the batch grows, for every profile', () => {
    for (const profile of PROFILES) {
      for (const chips of [1, profile.referenceChipsPerNode]) {
        for (const batchLimit of [1, 2, 7, 64, 2048]) {
          const demand = new ShapeCurves({ profile, chipCount: chips }, batchLimit).demandWatts;
          for (let b = 1; b <= batchLimit; b++) expect(demand[b]!).toBeGreaterThanOrEqual(demand[b - 1]!);
        }
      }
    }
  });

  it('finds the least energy per token over any batch range, exactly when uncapped and from below when capped', () => {
    const rng = createRng(13);
    for (let trial = 0; trial < 400; trial++) {
      const profile = pick(rng, PROFILES);
      const model = pick(rng, MODEL_CATALOG);
      if (profile.throughput[model.sizeClass] === undefined) continue;
      const chips = Math.max(1, Math.round(profile.referenceChipsPerNode * pick(rng, [0.25, 0.5, 1, 2])));
      const batchLimit = pick(rng, [1, 2, 3, 5, 16, 100, 1024, 5000]);
      const curves = new ShapeCurves({ profile, chipCount: chips }, batchLimit);
      const curve = curves.forModel(model)!;
      const a = 1 + Math.floor(rng() * batchLimit);
      const c = a + Math.floor(rng() * (batchLimit - a + 1));
      const peak = profile.peakWattsPerChip * chips;
      const limit = rng() < 0.5 ? Number.POSITIVE_INFINITY : (0.2 + 0.8 * rng()) * peak;
      let least = Number.POSITIVE_INFINITY;
      for (let b = a; b <= c; b++) {
        const demand = curves.demandWatts[b]!;
        const speed = curves.speedAt(b, limit);
        least = Math.min(least, (Math.min(demand, limit) / b) * (curve.stepMs(b) / speed));
      }
      const bound = curve.minEnergyPerToken(a, c, limit);
      expect(bound).toBeLessThanOrEqual(least * (1 + 1e-12));
      // Exact where nothing is capped and the curve is tabulated.
      const exact = limit === Number.POSITIVE_INFINITY && batchLimit <= 4096;
      expect(!exact || Math.abs(bound - least) <= 1e-9 * least).toBe(true);
    }
  });
});
