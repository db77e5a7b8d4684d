import type { PowerStage } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { planPowerLimits } from '../power/power-plan.js';
import {
  ClusterState,
  DEFAULT_POWER_THRESHOLDS,
  type PowerThresholds,
  validatePowerThresholds,
} from './cluster-state.js';

const BUDGET = 10_000;

/** A cluster with `BUDGET` W, the given margin and committed draw split into measured and predicted. */
function cluster(
  measuredWatts: number,
  predictedWatts = 0,
  options: { safetyMargin?: number; capping?: boolean; thresholds?: PowerThresholds } = {},
): ClusterState {
  const state = new ClusterState('c', 'fra', BUDGET, options.safetyMargin ?? 0, options.thresholds);
  state.measuredWatts = measuredWatts;
  state.predictedWatts = predictedWatts;
  state.capping = options.capping ?? false;
  return state;
}

/** One power-controller step with no nodes (no limits to change, only the stage to decide) at this draw. */
function controllerStep(state: ClusterState, measuredWatts: number): PowerStage {
  state.measuredWatts = measuredWatts;
  planPowerLimits(state, [], new Set());
  return state.stage;
}

describe('ClusterState power figures', () => {
  it('derives usable, committed and headroom from budget, margin, measured and predicted draw', () => {
    const state = cluster(6_000, 1_500, { safetyMargin: 0.1 });
    expect(state.budgeted).toBe(true);
    expect(state.usableWatts).toBeCloseTo(9_000, 9);
    expect(state.committedWatts).toBe(7_500);
    expect(state.headroomWatts).toBe(2_500);
  });

  it('lets headroom go negative when the cluster is over budget', () => {
    expect(cluster(9_000, 2_000).headroomWatts).toBe(-1_000);
  });

  it('is unbudgeted, always normal and never out of headroom without a budget', () => {
    const state = new ClusterState('unknown');
    state.measuredWatts = 1e9;
    state.capping = true;
    expect(state.budgeted).toBe(false);
    expect(state.stage).toBe('normal');
    expect(state.headroomWatts).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('ClusterState.stage', () => {
  // Committed draw (measured + predicted) against shares of the usable budget: steer 0.85, defer
  // 0.95. Only the power controller's `capping` flag gives `cap`, whatever the draw.
  const usable = (margin: number): number => BUDGET * (1 - margin);
  const { steerAt, deferAt, capAt } = DEFAULT_POWER_THRESHOLDS;
  const cases: {
    name: string;
    measured: number;
    predicted?: number;
    margin?: number;
    capping?: boolean;
    stage: PowerStage;
  }[] = [
    { name: 'idle', measured: 0, stage: 'normal' },
    { name: 'just under steer', measured: steerAt * usable(0) - 1e-6, stage: 'normal' },
    { name: 'at steer', measured: steerAt * usable(0), stage: 'steer' },
    { name: 'predicted draw alone reaches steer', measured: 0, predicted: steerAt * usable(0), stage: 'steer' },
    { name: 'just under defer', measured: deferAt * usable(0) - 1e-6, stage: 'steer' },
    { name: 'at defer', measured: deferAt * usable(0), stage: 'defer' },
    {
      name: 'measured + predicted reach defer',
      measured: 5_000,
      predicted: deferAt * usable(0) - 5_000,
      stage: 'defer',
    },
    { name: 'measured at the usable budget', measured: capAt * usable(0), stage: 'defer' },
    // Draw alone never caps: the controller decides on a smoothed draw and sets `capping`.
    { name: 'measured above the usable budget, not capping', measured: capAt * usable(0) + 1e-6, stage: 'defer' },
    { name: 'measured far over the hard budget, not capping', measured: 3 * BUDGET, stage: 'defer' },
    { name: 'predicted above the usable budget, not capping', measured: 0, predicted: 2 * BUDGET, stage: 'defer' },
    { name: 'margin moves the thresholds down', measured: steerAt * usable(0.2), margin: 0.2, stage: 'steer' },
    { name: 'margin: at defer of the usable budget', measured: deferAt * usable(0.2), margin: 0.2, stage: 'defer' },
    { name: 'margin: above the usable budget, not capping', measured: usable(0.2) + 1, margin: 0.2, stage: 'defer' },
    { name: 'capping while draw is low', measured: 0, capping: true, stage: 'cap' },
    { name: 'capping at steer', measured: steerAt * usable(0), capping: true, stage: 'cap' },
    { name: 'capping with measured above the usable budget', measured: usable(0) + 1, capping: true, stage: 'cap' },
    {
      name: 'capping with predicted draw alone over budget',
      measured: 0,
      predicted: 2 * BUDGET,
      capping: true,
      stage: 'cap',
    },
    {
      name: 'margin: capping under the usable budget',
      measured: usable(0.2) - 1,
      margin: 0.2,
      capping: true,
      stage: 'cap',
    },
  ];

  it.each(cases)('$name → $stage', ({ measured, predicted, margin, capping, stage }) => {
    expect(cluster(measured, predicted, { safetyMargin: margin ?? 0, capping: capping ?? false }).stage).toBe(stage);
  });

  it('follows a budget change at once, but never into cap by itself', () => {
    const state = cluster(8_000);
    expect(state.stage).toBe('normal');
    state.budgetWatts = 9_000;
    expect(state.stage).toBe('steer');
    state.budgetWatts = 8_400;
    expect(state.stage).toBe('defer');
    state.budgetWatts = 7_000; // measured now over the usable budget: still only defer
    expect(state.stage).toBe('defer');
    state.capping = true;
    expect(state.stage).toBe('cap');
    state.budgetWatts = 100_000; // a generous budget does not end the controller's cap
    expect(state.stage).toBe('cap');
    state.capping = false;
    expect(state.stage).toBe('normal');
  });

  it('uses the thresholds it was given', () => {
    const thresholds = validatePowerThresholds({ steerAt: 0.5, deferAt: 0.6, capAt: 0.7, releaseAt: 0.4 });
    expect(cluster(4_999, 0, { thresholds }).stage).toBe('normal');
    expect(cluster(5_000, 0, { thresholds }).stage).toBe('steer');
    expect(cluster(5_999, 0, { thresholds }).stage).toBe('steer');
    expect(cluster(6_000, 0, { thresholds }).stage).toBe('defer');
    expect(cluster(7_001, 0, { thresholds }).stage).toBe('defer');
    expect(cluster(4_999, 0, { thresholds, capping: true }).stage).toBe('cap');
  });

  it('is not moved by the smoothed draw: smoothing feeds the controller, not the stage', () => {
    const state = cluster(2 * BUDGET);
    state.smooth();
    state.smooth();
    expect(state.smoothedWatts).toBe(2 * BUDGET);
    expect(state.stage).toBe('defer');
    state.measuredWatts = 0;
    expect(state.stage).toBe('normal');
  });

  it('enters cap only when the power controller caps on a smoothed draw, and leaves it when it releases', () => {
    const state = cluster(0);
    expect(controllerStep(state, 5_000)).toBe('normal'); // smoothed 5,000
    expect(controllerStep(state, 12_000)).toBe('defer'); // a burst: smoothed 8,500, under the usable 10,000
    expect(state.capping).toBe(false);
    expect(controllerStep(state, 9_000)).toBe('steer'); // smoothed 8,750
    expect(controllerStep(state, 12_000)).toBe('cap'); // smoothed 10,375 and measured both over
    expect(controllerStep(state, 9_000)).toBe('cap'); // held while measured stays at or above releaseAt (8,500)
    expect(controllerStep(state, 8_000)).toBe('normal'); // under releaseAt with nothing capped: released
    expect(state.capping).toBe(false);
    expect(state.smoothedWatts).toBeCloseTo(8_843.75, 9);
    expect(controllerStep(state, 10_500)).toBe('defer'); // smoothed 9,671.875: not over yet
    expect(controllerStep(state, 11_000)).toBe('cap'); // smoothed 10,335.9375
  });

  it('does not enter cap on a past burst: the current measured draw must be over as well', () => {
    const state = cluster(0);
    state.smoothedWatts = 20_000;
    state.measuredWatts = capAt * usable(0);
    planPowerLimits(state, [], new Set());
    expect(state.smoothedWatts).toBe(15_000);
    expect(state.capping).toBe(false);
    expect(state.stage).toBe('defer');
  });
});

describe('ClusterState.smooth', () => {
  it('starts at the first measured draw, then moves half way to each new one (EWMA, α = 0.5)', () => {
    const state = cluster(0);
    expect(state.smoothedWatts).toBeUndefined();
    const samples = [4_000, 8_000, 0, 0];
    const expected = [4_000, 6_000, 3_000, 1_500];
    samples.forEach((measuredWatts, i) => {
      state.measuredWatts = measuredWatts;
      expect(state.smooth()).toBe(expected[i]);
      expect(state.smoothedWatts).toBe(expected[i]);
    });
  });
});

describe('validatePowerThresholds', () => {
  it.each<PowerThresholds>([
    DEFAULT_POWER_THRESHOLDS,
    { steerAt: 0.5, deferAt: 0.5, capAt: 0.5, releaseAt: 0.5 },
    { steerAt: 0.9, deferAt: 1.5, capAt: 2, releaseAt: 0.1 },
  ])('accepts %o', (t) => {
    expect(validatePowerThresholds(t)).toBe(t);
  });

  it.each<PowerThresholds>([
    { steerAt: 0.95, deferAt: 0.85, capAt: 1, releaseAt: 0.8 }, // defer before steer
    { steerAt: 0.85, deferAt: 0.95, capAt: 0.9, releaseAt: 0.8 }, // cap before defer
    { steerAt: 0.85, deferAt: 0.95, capAt: 1, releaseAt: 0.9 }, // release above steer: would flap
    { steerAt: 0.85, deferAt: 0.95, capAt: 1, releaseAt: 0 },
    { steerAt: 0.85, deferAt: 0.95, capAt: 2.5, releaseAt: 0.8 },
    { steerAt: Number.NaN, deferAt: 0.95, capAt: 1, releaseAt: 0.8 },
  ])('refuses %o', (t) => {
    expect(() => validatePowerThresholds(t)).toThrow(RangeError);
  });
});

describe('ClusterState latency', () => {
  it('answers 0 without a region and the unlisted default for a region it has no figure for', () => {
    const state = new ClusterState('c', '', BUDGET, 0, DEFAULT_POWER_THRESHOLDS, 180);
    expect(state.networkMs(undefined)).toBe(0);
    expect(state.networkMs('mars')).toBe(180);
    expect(state.latencyFrom('mars')).toBeUndefined();
  });

  it('uses the configured round trip until a measurement arrives', () => {
    const state = new ClusterState('c');
    state.configureLatency('eu', 20);
    expect(state.networkMs('eu')).toBe(20);
    expect(state.latencyFrom('eu')).toBe(20);
  });

  it('takes the first measurement as is, then smooths later ones with α = 0.2', () => {
    const state = new ClusterState('c');
    state.configureLatency('eu', 20);
    const samples = [100, 200, 100, 100];
    const expected = [100, 120, 116, 112.8];
    samples.forEach((rttMs, i) => {
      state.observeLatency('eu', rttMs);
      expect(state.networkMs('eu')).toBeCloseTo(expected[i]!, 9);
    });
  });

  it('moves only a fifth of the way towards one outlier', () => {
    const state = new ClusterState('c');
    state.observeLatency('eu', 10);
    state.observeLatency('eu', 5_010);
    expect(state.networkMs('eu')).toBeCloseTo(1_010, 9);
  });

  it('keeps a measured figure when the configured one is applied again', () => {
    const state = new ClusterState('c');
    state.observeLatency('eu', 40);
    state.configureLatency('eu', 5);
    expect(state.networkMs('eu')).toBe(40);
  });

  it('keeps regions apart', () => {
    const state = new ClusterState('c');
    state.configureLatency('eu', 20);
    state.observeLatency('us', 90);
    state.observeLatency('us', 190);
    expect(state.networkMs('eu')).toBe(20);
    expect(state.networkMs('us')).toBeCloseTo(110, 9);
  });
});
