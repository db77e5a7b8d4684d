import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FAILURE_DETECTOR,
  type FailureDetectorConfig,
  FailureDetectorConfigError,
  livenessAt,
  validateFailureDetectorConfig,
} from './failure-detector.js';
import type { Liveness } from './node-record.js';

describe('livenessAt', () => {
  const config: FailureDetectorConfig = { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 60_000 };
  const lastHeartbeatMs = 1_000_000;

  it.each<[silentMs: number, liveness: Liveness]>([
    [-500, 'alive'], // the heartbeat is stamped after "now" (clock step): still alive
    [0, 'alive'],
    [1_000, 'alive'],
    [2_999, 'alive'],
    [3_000, 'suspect'],
    [4_999, 'suspect'],
    [5_000, 'dead'],
    [5_001, 'dead'],
    [10 * 60_000, 'dead'],
  ])('silent for %d ms → %s', (silentMs, liveness) => {
    expect(livenessAt(lastHeartbeatMs, lastHeartbeatMs + silentMs, config)).toBe(liveness);
  });

  it('uses the defaults: 3 missed 1 s beats make a node suspect, 5 make it dead', () => {
    expect(livenessAt(0, 2_999, DEFAULT_FAILURE_DETECTOR)).toBe('alive');
    expect(livenessAt(0, 3_000, DEFAULT_FAILURE_DETECTOR)).toBe('suspect');
    expect(livenessAt(0, 5_000, DEFAULT_FAILURE_DETECTOR)).toBe('dead');
  });
});

describe('validateFailureDetectorConfig', () => {
  it.each<[name: string, config: FailureDetectorConfig]>([
    ['defaults', DEFAULT_FAILURE_DETECTOR],
    ['forget equal to dead', { suspectAfterMs: 1, deadAfterMs: 2, forgetAfterMs: 2 }],
    ['fractional', { suspectAfterMs: 0.5, deadAfterMs: 0.75, forgetAfterMs: 1 }],
  ])('accepts %s and returns the same object', (_name, config) => {
    expect(validateFailureDetectorConfig(config)).toBe(config);
  });

  it.each<[name: string, config: FailureDetectorConfig]>([
    ['zero suspect', { suspectAfterMs: 0, deadAfterMs: 5_000, forgetAfterMs: 60_000 }],
    ['negative suspect', { suspectAfterMs: -1, deadAfterMs: 5_000, forgetAfterMs: 60_000 }],
    ['dead equal to suspect', { suspectAfterMs: 3_000, deadAfterMs: 3_000, forgetAfterMs: 60_000 }],
    ['dead before suspect', { suspectAfterMs: 5_000, deadAfterMs: 3_000, forgetAfterMs: 60_000 }],
    ['forget before dead', { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: 4_000 }],
    ['NaN suspect', { suspectAfterMs: Number.NaN, deadAfterMs: 5_000, forgetAfterMs: 60_000 }],
    ['NaN dead', { suspectAfterMs: 3_000, deadAfterMs: Number.NaN, forgetAfterMs: 60_000 }],
    ['NaN forget', { suspectAfterMs: 3_000, deadAfterMs: 5_000, forgetAfterMs: Number.NaN }],
  ])('rejects %s with a message giving all three values', (_name, config) => {
    let thrown: unknown;
    try {
      validateFailureDetectorConfig(config);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FailureDetectorConfigError);
    const error = thrown as FailureDetectorConfigError;
    expect(error.name).toBe('FailureDetectorConfigError');
    expect(error.message).toContain(`suspectAfterMs (${config.suspectAfterMs})`);
    expect(error.message).toContain(`deadAfterMs (${config.deadAfterMs})`);
    expect(error.message).toContain(`forgetAfterMs (${config.forgetAfterMs})`);
  });
});
