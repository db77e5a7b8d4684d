import { describe, expect, it } from 'vitest';
import { createModelCatalog, getModel, MODEL_CATALOG } from './models.js';

describe('MODEL_CATALOG', () => {
  it.each([
    ['llama-3.1-8b', 'small', 16e9, 131072],
    ['llama-3.3-70b', 'medium', 140e9, 327680],
    ['llama-3.1-405b', 'large', 405e9, 516096],
    ['mistral-7b', 'small', 14.5e9, 131072],
    ['qwen2.5-7b', 'small', 15.2e9, 57344],
  ] as const)('%s is %s with %d weight bytes and %d KV bytes per token', (name, sizeClass, weights, kv) => {
    expect(getModel(name)).toEqual({ name, sizeClass, weightBytes: weights, kvBytesPerToken: kv });
  });

  it('has unique names', () => {
    expect(new Set(MODEL_CATALOG.map((m) => m.name)).size).toBe(MODEL_CATALOG.length);
  });
});

describe('createModelCatalog', () => {
  const spec = { name: 'm', sizeClass: 'small', weightBytes: 1e9, kvBytesPerToken: 1024 } as const;

  it('looks models up by name', () => {
    const lookup = createModelCatalog([spec]);
    expect(lookup('m')).toBe(spec);
    expect(lookup('n')).toBeUndefined();
  });

  it('refuses duplicates and non-positive sizes', () => {
    expect(() => createModelCatalog([spec, spec])).toThrow(TypeError);
    expect(() => createModelCatalog([{ ...spec, weightBytes: 0 }])).toThrow(TypeError);
    expect(() => createModelCatalog([{ ...spec, kvBytesPerToken: Number.NaN }])).toThrow(TypeError);
  });
});
