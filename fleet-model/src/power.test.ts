import { describe, expect, it } from 'vitest';
import { getProfile } from './profiles.js';
import {
  clampPowerLimit,
  drawnPowerWatts,
  nodePowerWatts,
  powerLimitRange,
  powerSpeedFactor,
  temperatureC,
} from './power.js';
import type { NodeHardware } from './types.js';

const h100: NodeHardware = { profile: getProfile('h100')!, chipCount: 8 };
const idle = { prefillActive: false, decodeBatch: 0, maxBatchSize: 128 };

describe('nodePowerWatts', () => {
  it('draws idle power when nothing runs', () => {
    expect(nodePowerWatts(h100, idle)).toBe(67 * 8);
  });

  it('rises monotonically with the decode batch from 0.43 to 0.86 × TDP', () => {
    let previous = nodePowerWatts(h100, idle);
    for (const batch of [1, 2, 8, 32, 64, 128, 256]) {
      const watts = nodePowerWatts(h100, { ...idle, decodeBatch: batch });
      expect(watts).toBeGreaterThanOrEqual(previous);
      expect(watts).toBeLessThanOrEqual(700 * 8);
      previous = watts;
    }
    expect(nodePowerWatts(h100, { ...idle, decodeBatch: 1 })).toBeCloseTo(0.43 * 700 * 8, 6);
    expect(nodePowerWatts(h100, { ...idle, decodeBatch: 128 })).toBeCloseTo(0.86 * 700 * 8, 6);
    // ML.ENERGY's ≈ 480 W per GPU at batch 32 of 128, within 0.06 × TDP.
    expect(nodePowerWatts(h100, { ...idle, decodeBatch: 32 }) / 8).toBeCloseTo(480, -2);
  });

  it.each([0, 1, 64, 128])('prefill draws 0.95 × TDP with a decode batch of %d', (batch) => {
    expect(nodePowerWatts(h100, { prefillActive: true, decodeBatch: batch, maxBatchSize: 128 })).toBeCloseTo(
      0.95 * 700 * 8,
      6,
    );
  });
});

describe('powerSpeedFactor', () => {
  it.each([
    [1000, 2000, 1],
    [2000, 2000, 1],
    [4000, 2000, 0.5 ** 0.75],
    [5600, 1600, (1600 / 5600) ** 0.75],
  ])('demand %d W under limit %d W runs at %f', (demand, limit, expected) => {
    expect(powerSpeedFactor(demand, limit)).toBeCloseTo(expected, 9);
    expect(drawnPowerWatts(demand, limit)).toBe(Math.min(demand, limit));
  });

  it('reproduces the MLPerf capped H100 run (450 W of 700 W → 17,562 of 24,525 tok/s) within 2 %', () => {
    expect(powerSpeedFactor(700, 450)).toBeCloseTo(17562 / 24525, 1);
    expect(Math.abs(powerSpeedFactor(700, 450) / (17562 / 24525) - 1)).toBeLessThan(0.02);
  });

  it('refuses a non-positive limit', () => {
    expect(() => powerSpeedFactor(100, 0)).toThrow(RangeError);
  });
});

describe('limits and temperature', () => {
  it('gives the node-wide limit range and clamps into it', () => {
    expect(powerLimitRange(h100)).toEqual({ minWatts: 1600, maxWatts: 5600 });
    expect(clampPowerLimit(h100, 100)).toBe(1600);
    expect(clampPowerLimit(h100, 3000)).toBe(3000);
    expect(clampPowerLimit(h100, Number.POSITIVE_INFINITY)).toBe(5600);
    expect(() => clampPowerLimit(h100, Number.NaN)).toThrow(RangeError);
  });

  it('heats linearly with draw, 75 °C at peak', () => {
    expect(temperatureC(h100, 0)).toBe(30);
    expect(temperatureC(h100, 5600)).toBeCloseTo(75, 9);
    expect(temperatureC(h100, 3000)).toBeGreaterThan(temperatureC(h100, 1000));
  });
});
