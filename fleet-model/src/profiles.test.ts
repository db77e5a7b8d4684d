import { describe, expect, it } from 'vitest';
import { createModelCatalog, getModel, MODEL_CATALOG } from './models.js';
import { ACCELERATOR_PROFILES, getProfile } from './profiles.js';
import { decodeSaturationBatch, supportsModel } from './latency.js';
import type { ModelSizeClass, SizeClassThroughput } from './types.js';

const profiles = Object.entries(ACCELERATOR_PROFILES);
const CLASSES: readonly ModelSizeClass[] = ['tiny', 'small', 'medium', 'large'];
const FIELDS: readonly (keyof SizeClassThroughput)[] = [
  'prefillTokensPerSecond',
  'decodeTokensPerSecondBatch1',
  'maxAggregateDecodeTokensPerSecond',
];

describe('ACCELERATOR_PROFILES', () => {
  it('has the required profiles', () => {
    expect(Object.keys(ACCELERATOR_PROFILES)).toEqual(
      expect.arrayContaining(['a100', 'h100', 'h200', 'inf2', 'l4', 'trn1', 'trn2']),
    );
  });

  it.each(profiles)('%s has positive, consistent figures', (key, p) => {
    expect(p.name).toBe(key);
    expect(p.hbmBytesPerChip).toBeGreaterThan(0);
    expect(p.referenceChipsPerNode).toBeGreaterThan(0);
    expect(p.idleWattsPerChip).toBeGreaterThan(0);
    expect(p.peakWattsPerChip).toBeGreaterThan(p.idleWattsPerChip);
    expect(p.minPowerLimitWattsPerChip).toBeGreaterThan(p.idleWattsPerChip);
    expect(p.minPowerLimitWattsPerChip).toBeLessThanOrEqual(p.peakWattsPerChip);
    expect(Number.isInteger(p.maxBatchSize) && p.maxBatchSize >= 1).toBe(true);
    expect(p.modelLoadBytesPerSecond).toBeGreaterThan(0);
    // GPU and Trainium nodes serve published models; the CPU profile serves only the generated tiny ones.
    const served = Object.keys(p.throughput);
    expect(p.vendor === 'cpu' ? served.join() : served.includes('small')).toBe(p.vendor === 'cpu' ? 'tiny' : true);
    for (const sizeClass of CLASSES) {
      const row = p.throughput[sizeClass];
      if (row === undefined) continue;
      for (const field of FIELDS) {
        expect(Number.isFinite(row[field]) && row[field] > 0, `${key}.${sizeClass}.${field}`).toBe(true);
      }
      // The ceiling must sit above batch-1 speed, or t(B) would be a batch that slows the node down.
      expect(
        decodeSaturationBatch({ profile: p, chipCount: p.referenceChipsPerNode }, getModelOf(sizeClass)),
      ).toBeGreaterThan(1);
    }
  });

  it.each(profiles)('%s: small beats medium beats large on every figure', (key, p) => {
    const present = CLASSES.flatMap((c) => p.throughput[c] ?? []);
    present.forEach((row, i) => {
      const bigger = i === 0 ? undefined : present[i - 1];
      if (bigger === undefined) return;
      for (const field of FIELDS) expect(bigger[field], `${key} ${field}`).toBeGreaterThan(row[field]);
    });
  });

  it.each([
    // profile, class, field, value from the cited source (or its direct arithmetic)
    ['h100', 'small', 'decodeTokensPerSecondBatch1', 1000 / 4.6],
    ['h100', 'small', 'maxAggregateDecodeTokensPerSecond', 15220 * 8],
    ['h100', 'medium', 'maxAggregateDecodeTokensPerSecond', 4205 * 4],
    ['h100', 'large', 'maxAggregateDecodeTokensPerSecond', 2919],
    ['h200', 'small', 'maxAggregateDecodeTokensPerSecond', 17744 * 8],
    ['a100', 'small', 'maxAggregateDecodeTokensPerSecond', 3634 * 8],
    ['trn1', 'small', 'prefillTokensPerSecond', 4096 / 0.153],
    ['trn1', 'medium', 'decodeTokensPerSecondBatch1', 1000 / 24.5],
    ['inf2', 'small', 'decodeTokensPerSecondBatch1', 1000 / 6.4],
    ['trn2', 'medium', 'prefillTokensPerSecond', 10000 / 0.814],
    ['trn2', 'large', 'decodeTokensPerSecondBatch1', 1000 / 37.9],
  ] as const)('%s %s %s matches its source', (name, sizeClass, field, value) => {
    expect(getProfile(name)!.throughput[sizeClass]![field]).toBeCloseTo(value, 6);
  });

  it.each([
    ['l4', 'medium'],
    ['l4', 'large'],
    ['a100', 'large'],
    ['trn1', 'large'],
    ['inf2', 'large'],
  ] as const)('%s has no %s figures (the reference node cannot hold or has no data)', (name, sizeClass) => {
    expect(getProfile(name)!.throughput[sizeClass]).toBeUndefined();
  });

  it.each([
    ['h100', 'llama-3.1-405b', true],
    ['h200', 'llama-3.3-70b', true],
    ['trn2', 'llama-3.1-405b', true],
    ['trn1', 'llama-3.3-70b', true],
    ['inf2', 'llama-3.3-70b', true],
    ['l4', 'llama-3.1-8b', true],
    ['l4', 'llama-3.3-70b', false],
    ['a100', 'llama-3.1-405b', false],
    ['inf2', 'llama-3.1-405b', false],
  ] as const)('reference %s node supports %s: %s', (name, model, expected) => {
    const profile = getProfile(name)!;
    expect(supportsModel({ profile, chipCount: profile.referenceChipsPerNode }, getModel(model)!)).toBe(expected);
  });
});

describe('getProfile', () => {
  it('finds known profiles and nothing else', () => {
    expect(getProfile('h100')?.vendor).toBe('nvidia');
    expect(getProfile('trn2')?.vendor).toBe('aws');
    expect(getProfile('tpu-v5')).toBeUndefined();
    expect(getProfile('toString')).toBeUndefined();
  });
});

function getModelOf(sizeClass: ModelSizeClass) {
  return createModelCatalog(MODEL_CATALOG)(
    { tiny: 'tiny-llama', small: 'llama-3.1-8b', medium: 'llama-3.3-70b', large: 'llama-3.1-405b' }[sizeClass],
  )!;
}
