/**
 * The model catalogue: what a model costs in HBM. KV bytes per token are
 * layers × KV heads × head dim × 2 (K and V) × 2 bytes (BF16 cache), from each model's config.json.
 */
import type { ModelSpec } from './types.js';

/** Models the fleet serves by default; the size class picks the profile's throughput row. */
export const MODEL_CATALOG: readonly ModelSpec[] = Object.freeze([
  // 8.0B parameters in BF16; 32 layers × 8 KV heads × 128.
  Object.freeze({ name: 'llama-3.1-8b', sizeClass: 'small', weightBytes: 16e9, kvBytesPerToken: 32 * 8 * 128 * 2 * 2 }),
  // 70.6B parameters in BF16; 80 layers × 8 KV heads × 128.
  Object.freeze({
    name: 'llama-3.3-70b',
    sizeClass: 'medium',
    weightBytes: 140e9,
    kvBytesPerToken: 80 * 8 * 128 * 2 * 2,
  }),
  // 405B parameters in FP8 (the precision it is served at); 126 layers × 8 KV heads × 128, BF16 cache.
  Object.freeze({
    name: 'llama-3.1-405b',
    sizeClass: 'large',
    weightBytes: 405e9,
    kvBytesPerToken: 126 * 8 * 128 * 2 * 2,
  }),
  // Mistral 7B v0.3: 7.25B parameters in BF16; 32 layers × 8 KV heads × 128.
  Object.freeze({ name: 'mistral-7b', sizeClass: 'small', weightBytes: 14.5e9, kvBytesPerToken: 32 * 8 * 128 * 2 * 2 }),
  // Qwen2.5 7B: 7.6B parameters in BF16; 28 layers × 4 KV heads × 128 (a much smaller cache per token).
  Object.freeze({ name: 'qwen2.5-7b', sizeClass: 'small', weightBytes: 15.2e9, kvBytesPerToken: 28 * 4 * 128 * 2 * 2 }),
]);

/** A model lookup by name, as the simulated accelerator and the scheduler take it. */
export type ModelLookup = (name: string) => ModelSpec | undefined;

/**
 * Builds a lookup over `specs`. Throws TypeError on a duplicate name or a non-positive size, since a
 * catalogue is configuration and a broken one must fail at start-up.
 */
export function createModelCatalog(specs: readonly ModelSpec[]): ModelLookup {
  const byName = new Map<string, ModelSpec>();
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new TypeError(`duplicate model "${spec.name}" in catalogue`);
    if (!(spec.weightBytes > 0) || !(spec.kvBytesPerToken > 0)) {
      throw new TypeError(`model "${spec.name}" needs positive weightBytes and kvBytesPerToken`);
    }
    byName.set(spec.name, spec);
  }
  return (name) => byName.get(name);
}

const defaultLookup = createModelCatalog(MODEL_CATALOG);

/** The default catalogue's model with this name, or undefined. */
export function getModel(name: string): ModelSpec | undefined {
  return defaultLookup(name);
}
