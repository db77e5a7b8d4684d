import { describe, expect, it } from 'vitest';
import { candidate, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { modelSupportedFilter } from './model-supported.js';

describe('model-supported filter', () => {
  const filter = modelSupportedFilter();

  it.each<{ profile: string; chips?: number; model: string; loaded?: boolean; admits: boolean }>([
    { profile: 'l4', model: 'llama-3.1-8b', admits: true },
    { profile: 'l4', model: 'llama-3.3-70b', admits: false }, // no medium figures; 140 GB > 96 GB
    { profile: 'l4', model: 'llama-3.1-405b', admits: false },
    { profile: 'l4', chips: 1, model: 'llama-3.1-8b', admits: true }, // 16 GB ≤ 0.9 × 24 GB
    { profile: 'a100', model: 'llama-3.3-70b', admits: true },
    { profile: 'a100', model: 'llama-3.1-405b', admits: false }, // no large figures
    { profile: 'h100', model: 'llama-3.1-405b', admits: true }, // 405 GB ≤ 0.9 × 640 GB
    { profile: 'h100', chips: 4, model: 'llama-3.1-405b', admits: false }, // 405 GB > 0.9 × 320 GB
    // A node reporting the model loaded is still judged by its hardware: without figures there is no prediction.
    { profile: 'h100', chips: 4, model: 'llama-3.1-405b', loaded: true, admits: false },
    { profile: 'l4', model: 'llama-3.3-70b', loaded: true, admits: false },
    { profile: 'l4', model: 'llama-3.1-8b', loaded: true, admits: true },
    { profile: 'trn2', model: 'llama-3.1-405b', admits: true },
    { profile: 'inf2', model: 'llama-3.1-405b', admits: false }, // no large figures
    { profile: 'inf2', model: 'llama-3.3-70b', admits: true },
  ])('$profile ×$chips chips, $model (loaded: $loaded) → $admits', ({ profile, chips, model, loaded, admits }) => {
    const node = nodeRecord({
      profile,
      ...(chips === undefined ? {} : { chips }),
      loaded: loaded === true ? [model] : [],
    });
    const request = placementRequest(model);
    expect(filter.admits(request, candidate(node, request))).toBe(admits);
  });

  it('rejects with UNKNOWN_MODEL, so a fleet that cannot run a model says so', () => {
    expect(filter).toMatchObject({ name: 'model-supported', rejectionCode: 'UNKNOWN_MODEL' });
  });
});
