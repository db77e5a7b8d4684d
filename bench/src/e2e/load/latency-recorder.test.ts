import { describe, expect, it } from 'vitest';
import { LatencyRecorder, MAX_RECORDABLE_US } from './latency-recorder.js';

/** HdrHistogram with three significant figures: a percentile is within 0.1 % of the exact value. */
const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(0.001);
};

describe('LatencyRecorder', () => {
  it('reports percentiles of 1..1000 ms to three significant figures', () => {
    const recorder = new LatencyRecorder();
    // Recorded in a shuffled order: the histogram does not care about order.
    for (let i = 0; i < 1000; i++) recorder.recordMs(((i * 617) % 1000) + 1);
    const s = recorder.summary();
    expect(s.count).toBe(1000);
    close(s.p50Ms, 500);
    close(s.p90Ms, 900);
    close(s.p99Ms, 990);
    close(s.p999Ms, 999);
    close(s.maxMs, 1000);
    close(s.meanMs, 500.5);
    expect(s.p50Ms).toBeLessThanOrEqual(s.p90Ms);
    expect(s.p99Ms).toBeLessThanOrEqual(s.p999Ms);
    expect(s.p999Ms).toBeLessThanOrEqual(s.maxMs);
  });

  it('keeps sub-millisecond latencies (microsecond resolution)', () => {
    const recorder = new LatencyRecorder();
    for (const ms of [0.25, 0.25, 0.25, 0.5]) recorder.recordMs(ms);
    expect(recorder.percentileMs(50)).toBeCloseTo(0.25, 3);
    expect(recorder.summary().maxMs).toBeCloseTo(0.5, 3);
  });

  it('a tail the median cannot see shows at p99', () => {
    const recorder = new LatencyRecorder();
    for (let i = 0; i < 980; i++) recorder.recordMs(10);
    for (let i = 0; i < 20; i++) recorder.recordMs(5000);
    expect(recorder.count).toBe(1000);
    close(recorder.percentileMs(50), 10);
    close(recorder.percentileMs(99), 5000);
  });

  it('merges exactly: the union of two recorders equals one recorder of both', () => {
    const a = new LatencyRecorder();
    const b = new LatencyRecorder();
    const both = new LatencyRecorder();
    for (let i = 1; i <= 500; i++) {
      a.recordMs(i);
      both.recordMs(i);
      b.recordMs(i * 7);
      both.recordMs(i * 7);
    }
    a.merge(b);
    expect(a.summary()).toEqual(both.summary());
    expect(b.count).toBe(500);
  });

  it('clamps out-of-range samples instead of losing them, and counts them', () => {
    const recorder = new LatencyRecorder();
    recorder.recordMs(-3);
    recorder.recordMs(0);
    recorder.recordMs((MAX_RECORDABLE_US / 1000) * 2);
    const s = recorder.summary();
    expect(s.count).toBe(3);
    expect(s.clampedLow).toBe(2);
    expect(s.clampedHigh).toBe(1);
    close(s.maxMs, MAX_RECORDABLE_US / 1000);
  });

  it('is NaN when empty and refuses NaN samples and bad percentiles', () => {
    const recorder = new LatencyRecorder();
    const s = recorder.summary();
    expect(s.count).toBe(0);
    expect(s.p50Ms).toBeNaN();
    expect(s.maxMs).toBeNaN();
    expect(() => recorder.recordMs(Number.NaN)).toThrow(RangeError);
    expect(() => recorder.percentileMs(0)).toThrow(RangeError);
    expect(() => recorder.percentileMs(101)).toThrow(RangeError);
  });
});
