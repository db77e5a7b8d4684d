import { describe, expect, it } from 'vitest';
import { judgeTrial, searchMaxSustainableRate, type TrialMeasurement } from './rate-search.js';

/**
 * A fake system with a hard capacity: p99 stays at `baseMs` below it and explodes past it, the way
 * queueing makes a real one. Records the rates it was asked to run.
 */
function fakeSystem(
  capacityPerS: number,
  baseMs = 100,
): {
  measure: (ratePerS: number) => Promise<TrialMeasurement>;
  asked: number[];
} {
  const asked: number[] = [];
  return {
    asked,
    measure: (ratePerS) => {
      asked.push(ratePerS);
      const p99Ms = ratePerS <= capacityPerS ? baseMs : baseMs * 50;
      return Promise.resolve({ p99Ms, failureShare: 0 });
    },
  };
}

describe('searchMaxSustainableRate', () => {
  it('grows the rate until it breaks, then bisects to within the tolerance', async () => {
    const system = fakeSystem(37);
    const result = await searchMaxSustainableRate(system.measure, {
      startRatePerS: 5,
      maxRatePerS: 1000,
      p99TargetMs: 1000,
      refineSteps: 10,
      tolerance: 0.02,
    });
    expect(system.asked.slice(0, 5)).toEqual([5, 10, 20, 40, 30]);
    expect(result.maxSustainableRatePerS).toBeLessThanOrEqual(37);
    expect(result.maxSustainableRatePerS).toBeGreaterThan(37 * 0.97);
    expect(result.brokeAtRatePerS).toBeGreaterThan(37);
    // Every rate runs once, and the verdicts agree with the fake's capacity.
    expect(new Set(system.asked).size).toBe(system.asked.length);
    for (const trial of result.trials) expect(trial.held).toBe(trial.ratePerS <= 37);
  });

  it('stops after refineSteps bisections', async () => {
    const system = fakeSystem(37);
    const result = await searchMaxSustainableRate(system.measure, {
      startRatePerS: 5,
      maxRatePerS: 1000,
      p99TargetMs: 1000,
      refineSteps: 2,
    });
    // 5, 10, 20, 40 then two bisections: 30 (held), 35 (held).
    expect(system.asked).toEqual([5, 10, 20, 40, 30, 35]);
    expect(result.maxSustainableRatePerS).toBe(35);
    expect(result.brokeAtRatePerS).toBe(40);
  });

  it('searches below the start rate when the start rate already breaks', async () => {
    const system = fakeSystem(3);
    const result = await searchMaxSustainableRate(system.measure, {
      startRatePerS: 10,
      maxRatePerS: 100,
      p99TargetMs: 1000,
      refineSteps: 3,
    });
    expect(system.asked).toEqual([10, 5, 2.5, 3.75]);
    expect(result.maxSustainableRatePerS).toBe(2.5);
    expect(result.brokeAtRatePerS).toBe(3.75);
  });

  it('reports no sustainable rate when every trial breaks', async () => {
    const system = fakeSystem(0);
    const result = await searchMaxSustainableRate(system.measure, {
      startRatePerS: 4,
      maxRatePerS: 100,
      p99TargetMs: 1000,
      refineSteps: 2,
    });
    expect(result.maxSustainableRatePerS).toBeUndefined();
    expect(result.trials.every((t) => !t.held)).toBe(true);
  });

  it('ends at maxRatePerS when nothing breaks', async () => {
    const system = fakeSystem(Number.POSITIVE_INFINITY);
    const result = await searchMaxSustainableRate(system.measure, {
      startRatePerS: 10,
      maxRatePerS: 50,
      p99TargetMs: 1000,
    });
    expect(system.asked).toEqual([10, 20, 40, 50]);
    expect(result.maxSustainableRatePerS).toBe(50);
    expect(result.brokeAtRatePerS).toBeUndefined();
  });

  it('breaks on errors and timeouts even when the p99 of the answered ones is fine', async () => {
    const result = await searchMaxSustainableRate(
      (ratePerS) => Promise.resolve({ p99Ms: 50, failureShare: ratePerS > 20 ? 0.05 : 0.005 }),
      { startRatePerS: 10, maxRatePerS: 1000, p99TargetMs: 1000, refineSteps: 0 },
    );
    expect(result.maxSustainableRatePerS).toBe(20);
    expect(result.trials.at(-1)?.reason).toMatch(/5\.0% errors or timeouts > 1\.0%/);
  });

  it('refuses options that cannot describe a search', async () => {
    const measure = fakeSystem(10).measure;
    await expect(
      searchMaxSustainableRate(measure, { startRatePerS: 0, maxRatePerS: 10, p99TargetMs: 1 }),
    ).rejects.toThrow(RangeError);
    await expect(
      searchMaxSustainableRate(measure, { startRatePerS: 20, maxRatePerS: 10, p99TargetMs: 1 }),
    ).rejects.toThrow(RangeError);
    await expect(
      searchMaxSustainableRate(measure, { startRatePerS: 1, maxRatePerS: 10, p99TargetMs: 1, growthFactor: 1 }),
    ).rejects.toThrow(RangeError);
  });
});

describe('judgeTrial', () => {
  it('holds only with a p99 within target and failures within their share', () => {
    expect(judgeTrial({ p99Ms: 999, failureShare: 0.01 }, 1000, 0.01)).toEqual({ held: true });
    expect(judgeTrial({ p99Ms: 1001, failureShare: 0 }, 1000, 0.01)).toEqual({
      held: false,
      reason: 'p99 1001 ms > 1000 ms',
    });
    expect(judgeTrial({ p99Ms: Number.NaN, failureShare: 0 }, 1000, 0.01)).toEqual({
      held: false,
      reason: 'nothing answered',
    });
  });
});
