/** A seeded mix of placement requests over the model catalogue, shaped like the inference service builds them. */
import { MODEL_CATALOG, createRng } from '@switchyard/fleet-model';
import type { Priority, SloClass } from '@switchyard/protocol';
import type { PlacementRequest } from '@switchyard/scheduler';
import { logUniformInt, pickWeighted } from './seeded-draws.js';

/** Share of each catalogue model in the request mix: small models dominate, 405B is rare. */
const MODEL_SHARES: Readonly<Record<string, number>> = {
  'llama-3.1-8b': 0.4,
  'llama-3.3-70b': 0.25,
  'qwen2.5-7b': 0.13,
  'mistral-7b': 0.12,
  'llama-3.1-405b': 0.1,
};

/** A seeded mix of `count` placement requests over the model catalogue, shaped like the service builds them. */
export function buildRequestMix(count: number, seed = 2): PlacementRequest[] {
  const rng = createRng(seed);
  const requests: PlacementRequest[] = [];
  for (let i = 0; i < count; i++) {
    const model = pickWeighted(rng, MODEL_CATALOG, (m) => MODEL_SHARES[m.name] ?? 0.05);
    const sloClass: SloClass = pickWeighted(rng, ['interactive', 'standard', 'batch'] as const, (s) =>
      s === 'interactive' ? 0.7 : s === 'standard' ? 0.2 : 0.1,
    );
    const priority: Priority = pickWeighted(rng, ['high', 'normal', 'low'] as const, (p) =>
      p === 'normal' ? 0.8 : 0.1,
    );
    requests.push({
      requestId: `req-${seed}-${i}`,
      model,
      inputTokens: logUniformInt(rng, 32, 16_000),
      maxOutputTokens: logUniformInt(rng, 16, 2_048),
      priority,
      sloClass,
      // The inference service always passes the request's (usually empty) exclusion set.
      excludeNodeIds: new Set<string>(),
    });
  }
  return requests;
}
