import { describe, expect, it } from 'vitest';
import {
  decodeSaturationBatch,
  decodeStepMs,
  kvBytes,
  modelLoadMs,
  predictServiceMs,
  prefillMs,
  supportsModel,
} from './latency.js';
import { getModel } from './models.js';
import { ACCELERATOR_PROFILES, getProfile } from './profiles.js';
import type { NodeHardware } from './types.js';

const h100: NodeHardware = { profile: getProfile('h100')!, chipCount: 8 };
const small = getModel('llama-3.1-8b')!;
const medium = getModel('llama-3.3-70b')!;

describe('prefillMs', () => {
  it.each([1, 100, 1000, 8000])('grows linearly with %d input tokens', (tokens) => {
    expect(prefillMs(h100, small, 2 * tokens)).toBeCloseTo(2 * prefillMs(h100, small, tokens), 9);
    expect(prefillMs(h100, small, tokens)).toBeCloseTo(
      (tokens / h100.profile.throughput.small!.prefillTokensPerSecond) * 1000,
      9,
    );
  });

  it('scales with chips and speed factor', () => {
    const half: NodeHardware = { profile: h100.profile, chipCount: 4 };
    expect(prefillMs(half, medium, 1000)).toBeCloseTo(2 * prefillMs(h100, medium, 1000), 9);
    expect(prefillMs(h100, medium, 1000, 0.5)).toBeCloseTo(2 * prefillMs(h100, medium, 1000), 9);
    expect(prefillMs(h100, small, 0)).toBe(0);
  });
});

describe('decodeStepMs', () => {
  it('is the published ITL at batch 1', () => {
    expect(decodeStepMs(h100, small, 1)).toBeCloseTo(4.6, 9);
    expect(decodeStepMs(h100, medium, 1)).toBeCloseTo(18.6, 9);
  });

  it.each(Object.values(ACCELERATOR_PROFILES))('$name: aggregate rises monotonically to the ceiling', (profile) => {
    const hw: NodeHardware = { profile, chipCount: profile.referenceChipsPerNode };
    // The CPU profile serves only the generated tiny model; every other profile serves small ones.
    const model = profile.throughput.small === undefined ? getModel('tiny-llama')! : small;
    const ceiling = profile.throughput[model.sizeClass]!.maxAggregateDecodeTokensPerSecond;
    let previous = 0;
    for (const batch of [1, 2, 4, 16, 64, 256, 1024, 4096]) {
      const aggregate = (batch / decodeStepMs(hw, model, batch)) * 1000;
      expect(aggregate).toBeGreaterThan(previous);
      expect(aggregate).toBeLessThan(ceiling);
      previous = aggregate;
    }
    expect((1e9 / decodeStepMs(hw, model, 1e9)) * 1000).toBeCloseTo(ceiling, -1);
    // Half the ceiling at B = Bsat (to within the −1 in the formula).
    const bsat = decodeSaturationBatch(hw, model);
    expect((bsat / decodeStepMs(hw, model, bsat)) * 1000).toBeGreaterThan(0.49 * ceiling);
  });

  it('scales the ceiling with chips and slows with the speed factor', () => {
    const double: NodeHardware = { profile: h100.profile, chipCount: 16 };
    expect(decodeSaturationBatch(double, small)).toBeCloseTo(2 * decodeSaturationBatch(h100, small), 9);
    expect(decodeStepMs(h100, small, 64, 0.8)).toBeCloseTo(decodeStepMs(h100, small, 64) / 0.8, 9);
  });
});

describe('predictServiceMs', () => {
  it.each([2, 11, 101, 1001])('decode grows linearly with output tokens (%d)', (out) => {
    const one = predictServiceMs(h100, small, 500, out, 8);
    const two = predictServiceMs(h100, small, 500, 2 * out - 1, 8);
    expect(two.decodeMs).toBeCloseTo(2 * one.decodeMs, 9);
    expect(one.prefillMs).toBeCloseTo(two.prefillMs, 9);
    expect(one.totalMs).toBeCloseTo(one.prefillMs + one.decodeMs, 9);
  });

  it('takes the first token from prefill', () => {
    const p = predictServiceMs(h100, small, 1000, 1, 1);
    expect(p.decodeMs).toBe(0);
    expect(predictServiceMs(h100, small, 1000, 101, 1).decodeMs).toBeCloseTo(100 * 4.6, 9);
  });
});

describe('memory and loading', () => {
  it('kvBytes is bytes per token × tokens', () => {
    expect(kvBytes(small, 2000)).toBe(2000 * 131072);
  });

  it('modelLoadMs is weights over load bandwidth', () => {
    expect(modelLoadMs(h100, small)).toBeCloseTo((16e9 / 2.5e9) * 1000, 9);
  });

  it.each([
    [1, 'llama-3.1-8b', true],
    [1, 'llama-3.3-70b', false], // 140 GB > 80 GB
    [2, 'llama-3.3-70b', true], // 140 of 160 GB: 12.5 % left for KV
    [8, 'llama-3.1-405b', true],
    [6, 'llama-3.1-405b', true], // 405 of 480 GB
    [5, 'llama-3.1-405b', false], // 405 GB > 400 GB
    [4, 'llama-3.1-405b', false],
  ] as const)('an H100 node of %d chips supports %s: %s', (chips, model, expected) => {
    expect(supportsModel({ profile: h100.profile, chipCount: chips }, getModel(model)!)).toBe(expected);
  });

  it('refuses to compute for a size class the profile lacks', () => {
    const l4: NodeHardware = { profile: getProfile('l4')!, chipCount: 4 };
    expect(supportsModel(l4, medium)).toBe(false);
    // Fits in one L4's 24 GB but leaves under 10 % for KV.
    const tight = { name: 'tight', sizeClass: 'small', weightBytes: 22e9, kvBytesPerToken: 1 } as const;
    expect(supportsModel({ profile: l4.profile, chipCount: 1 }, tight)).toBe(false);
    expect(() => prefillMs(l4, medium, 10)).toThrow(RangeError);
  });
});
