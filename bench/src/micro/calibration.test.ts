import { describe, expect, it } from 'vitest';
import { calibrate, formatCalibration, PLAIN_SCAN_CASE } from './calibration.js';
import type { CaseResult } from './runner.js';

function result(
  name: string,
  p50Us: number,
  p99Us: number,
  opsPerSec: number,
  target?: CaseResult['target'],
): CaseResult {
  return {
    suite: 'placement',
    name,
    opsPerSec,
    meanUs: p50Us,
    p50Us,
    p75Us: p50Us,
    p99Us,
    maxUs: p99Us,
    rmePct: 1,
    samples: 100,
    opsPerCall: 1,
    ...(target === undefined ? {} : { target }),
  };
}

describe('calibrate', () => {
  const decisions = result('place() default pipeline @ 10k nodes', 15, 60, 50_000, {
    p99Us: 20,
    minOpsPerSec: 100_000,
    label: 'DESIGN',
    met: false,
  });

  it('scales p99 bounds up and throughput floors down by the plain scan against its 120 µs reference', () => {
    const calibration = calibrate([decisions, result(`${PLAIN_SCAN_CASE} @ 10k nodes`, 480, 900, 2_000)]);
    expect(calibration?.scale).toBe(4);
    expect(calibration?.targets).toEqual([
      {
        name: 'placement: place() default pipeline @ 10k nodes',
        label: 'DESIGN',
        p99Us: 80,
        minOpsPerSec: 25_000,
        p99UsMeasured: 60,
        opsPerSecMeasured: 50_000,
        met: true,
      },
    ]);
    expect(formatCalibration(calibration!)).toContain('met   placement: place() default pipeline @ 10k nodes');
  });

  it('misses when the scaled bound still is not reached, and says nothing without the reference case', () => {
    const fastMachine = calibrate([decisions, result(`${PLAIN_SCAN_CASE} @ 10k nodes`, 120, 200, 8_000)]);
    expect(fastMachine?.targets[0]?.met).toBe(false);
    expect(calibrate([decisions])).toBeUndefined();
  });
});
