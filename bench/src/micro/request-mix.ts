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

/** A client region: its share of requests and its round trips to the fixture's clusters (ms). */
export interface FixtureRegion {
  readonly name: string;
  readonly share: number;
  readonly latencyMs: Readonly<Record<string, number>>;
}

/**
 * Where requests come from, with round trips to each cluster of the fixture fleet (public
 * inter-city RTTs, rounded). Asia-Pacific lists no figure for São Paulo, so the topology's default
 * for unlisted pairs applies there.
 */
export const FIXTURE_REGIONS: readonly FixtureRegion[] = [
  {
    name: 'eu-west',
    share: 0.35,
    latencyMs: {
      'edge-fra-1': 12,
      'edge-fra-2': 14,
      'edge-lhr-1': 8,
      'edge-iad-1': 80,
      'edge-iad-2': 82,
      'edge-pdx-1': 140,
      'edge-gru-1': 190,
      'edge-sin-1': 160,
      'edge-nrt-1': 230,
      'edge-syd-1': 280,
    },
  },
  {
    name: 'us-east',
    share: 0.3,
    latencyMs: {
      'edge-iad-1': 5,
      'edge-iad-2': 6,
      'edge-pdx-1': 65,
      'edge-lhr-1': 75,
      'edge-fra-1': 90,
      'edge-fra-2': 92,
      'edge-gru-1': 120,
      'edge-nrt-1': 160,
      'edge-syd-1': 200,
      'edge-sin-1': 220,
    },
  },
  {
    name: 'us-west',
    share: 0.2,
    latencyMs: {
      'edge-pdx-1': 8,
      'edge-iad-1': 65,
      'edge-iad-2': 66,
      'edge-nrt-1': 110,
      'edge-lhr-1': 140,
      'edge-fra-1': 150,
      'edge-fra-2': 151,
      'edge-syd-1': 150,
      'edge-sin-1': 170,
      'edge-gru-1': 180,
    },
  },
  {
    name: 'ap-southeast',
    share: 0.15,
    latencyMs: {
      'edge-sin-1': 5,
      'edge-nrt-1': 70,
      'edge-syd-1': 95,
      'edge-pdx-1': 160,
      'edge-fra-1': 160,
      'edge-fra-2': 162,
      'edge-lhr-1': 170,
      'edge-iad-1': 220,
      'edge-iad-2': 221,
    },
  },
];

const SLO_SHARES: Readonly<Record<SloClass, number>> = { interactive: 0.7, standard: 0.2, batch: 0.1 };

/**
 * The request's own target, when it has one: a quarter of interactive requests set a TTFT target
 * (200 ms – 2 s), a fifth of standard and a third of batch requests carry a deadline (5 s – 2 min,
 * 1 min – 2 h); the rest use the scorer's defaults.
 */
function targetFor(rng: () => number, sloClass: SloClass): number | undefined {
  if (sloClass === 'interactive') return rng() < 0.25 ? logUniformInt(rng, 200, 2_000) : undefined;
  if (sloClass === 'standard') return rng() < 0.2 ? logUniformInt(rng, 5_000, 120_000) : undefined;
  return rng() < 0.33 ? logUniformInt(rng, 60_000, 7_200_000) : undefined;
}

/** A seeded mix of `count` placement requests over the model catalogue, shaped like the service builds them. */
export function buildRequestMix(count: number, seed = 2): PlacementRequest[] {
  const rng = createRng(seed);
  // Regions and targets come from a stream of their own, so that the models, classes and sizes stay
  // those earlier versions of the mix drew (the codec benchmark encodes them).
  const whereRng = createRng(seed * 7919 + 13);
  const requests: PlacementRequest[] = [];
  for (let i = 0; i < count; i++) {
    const model = pickWeighted(rng, MODEL_CATALOG, (m) => MODEL_SHARES[m.name] ?? 0.05);
    const sloClass: SloClass = pickWeighted(rng, ['interactive', 'standard', 'batch'] as const, (s) => SLO_SHARES[s]);
    const priority: Priority = pickWeighted(rng, ['high', 'normal', 'low'] as const, (p) =>
      p === 'normal' ? 0.8 : 0.1,
    );
    const region = pickWeighted(whereRng, FIXTURE_REGIONS, (r) => r.share).name;
    const targetMs = targetFor(whereRng, sloClass);
    requests.push({
      requestId: `req-${seed}-${i}`,
      model,
      inputTokens: logUniformInt(rng, 32, 16_000),
      maxOutputTokens: logUniformInt(rng, 16, 2_048),
      priority,
      sloClass,
      region,
      ...(targetMs === undefined ? {} : { targetMs }),
      // The inference service always passes the request's (usually empty) exclusion set.
      excludeNodeIds: new Set<string>(),
    });
  }
  return requests;
}
