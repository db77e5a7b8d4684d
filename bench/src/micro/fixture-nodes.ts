/**
 * The simulated nodes of the microbenchmark fleet (fleet-fixture.ts): which accelerator profiles
 * appear and how often, the model sets each serves, and the Registration/Heartbeat status a node
 * reports for a load drawn from a seeded RNG. Same RNG stream, same nodes.
 */
import { getModel, getProfile, supportsModel, type AcceleratorProfile, type ModelSpec } from '@switchyard/fleet-model';
import { PROTOCOL_VERSION, type Heartbeat, type LoadedModel } from '@switchyard/protocol';
import { FIXTURE_CLUSTERS } from './fleet-power.js';
import { pick, pickWeighted } from './seeded-draws.js';

/** How a profile appears in the fleet: its share of nodes, node sizes (chips) and the model sets it serves. */
interface ProfileMix {
  readonly profile: string;
  readonly share: number;
  readonly chipCounts: readonly (readonly [chips: number, weight: number])[];
  /** Model sets an operator deploys on this profile; sets that do not fit a node are skipped. */
  readonly deployments: readonly (readonly string[])[];
}

const PROFILE_MIX: readonly ProfileMix[] = [
  {
    profile: 'h100',
    share: 0.3,
    chipCounts: [
      [8, 0.9],
      [4, 0.1],
    ],
    deployments: [
      ['llama-3.1-8b', 'llama-3.3-70b'],
      ['llama-3.3-70b'],
      ['llama-3.1-405b'],
      ['llama-3.1-8b', 'mistral-7b', 'qwen2.5-7b'],
      ['llama-3.1-8b'],
    ],
  },
  {
    profile: 'trn2',
    share: 0.2,
    chipCounts: [[16, 1]],
    deployments: [
      ['llama-3.1-8b', 'llama-3.3-70b'],
      ['llama-3.1-405b'],
      ['llama-3.3-70b', 'llama-3.1-8b', 'qwen2.5-7b'],
    ],
  },
  {
    profile: 'l4',
    share: 0.25,
    chipCounts: [
      [4, 0.7],
      [1, 0.3],
    ],
    deployments: [['llama-3.1-8b'], ['mistral-7b'], ['qwen2.5-7b'], ['llama-3.1-8b', 'qwen2.5-7b']],
  },
  {
    profile: 'a100',
    share: 0.15,
    chipCounts: [[8, 1]],
    deployments: [['llama-3.1-8b', 'llama-3.3-70b'], ['llama-3.3-70b'], ['llama-3.1-8b', 'qwen2.5-7b']],
  },
  {
    profile: 'inf2',
    share: 0.1,
    chipCounts: [
      [12, 0.6],
      [6, 0.4],
    ],
    deployments: [['llama-3.1-8b'], ['llama-3.3-70b'], ['llama-3.1-8b', 'mistral-7b']],
  },
];

/** What never changes about a fixture node (its registration), plus what its heartbeats vary. */
export interface FixtureNode {
  readonly nodeId: string;
  readonly incarnation: string;
  readonly cluster: string;
  readonly zone: string;
  readonly profile: AcceleratorProfile;
  readonly chips: number;
  readonly maxBatchSize: number;
  readonly hbmTotalBytes: number;
  readonly models: readonly LoadedModel[];
}

/** The model spec named `name`; the fixture names only models the catalogue knows. */
export function modelOf(name: string): ModelSpec {
  const model = getModel(name);
  if (model === undefined) throw new RangeError(`fixture names unknown model ${name}`);
  return model;
}

/** Model sets of `mix` that fit a node of `chips` chips (weights ≤ 90 % of HBM, every size class supported). */
function fittingDeployments(mix: ProfileMix, profile: AcceleratorProfile, chips: number): (readonly string[])[] {
  const hardware = { profile, chipCount: chips };
  const fitting = mix.deployments.filter((names) => {
    const models = names.map(modelOf);
    const weights = models.reduce((sum, m) => sum + m.weightBytes, 0);
    return models.every((m) => supportsModel(hardware, m)) && weights <= 0.9 * profile.hbmBytesPerChip * chips;
  });
  return fitting.length > 0 ? fitting : [['llama-3.1-8b']];
}

/** Load drawn from a mixture: many idle or moderate nodes, some busy, a few saturated with a queue. */
function drawLoad(rng: () => number, maxBatchSize: number): { inFlight: number; queueDepth: number } {
  const r = rng();
  if (r < 0.3) return { inFlight: Math.floor(rng() * 0.1 * maxBatchSize), queueDepth: 0 };
  if (r < 0.8) return { inFlight: Math.floor((0.1 + rng() * 0.7) * maxBatchSize), queueDepth: 0 };
  if (r < 0.95) return { inFlight: Math.floor((0.8 + rng() * 0.2) * maxBatchSize), queueDepth: 0 };
  // Saturated: a full batch and a queue of up to 5× the batch (the agent's limit is 4×: queue-room rejects some).
  return { inFlight: maxBatchSize, queueDepth: Math.floor(rng() * 5 * maxBatchSize) };
}

/**
 * The status `node` reports at `seq`: a fresh load drawn from `rng`, HBM and power that follow from
 * it, and `limitWatts` as its power limit (the profile's peak unless the controller lowered it).
 */
export function statusFor(
  node: FixtureNode,
  seq: number,
  sentAtMs: number,
  rng: () => number,
  draining: boolean,
  limitWatts = node.chips * node.profile.peakWattsPerChip,
): Heartbeat {
  const { inFlight, queueDepth } = drawLoad(rng, node.maxBatchSize);
  const weightsBytes = node.models.reduce((sum, m) => sum + modelOf(m.name).weightBytes, 0);
  const first = node.models[0];
  const kvPerSequence = first === undefined ? 0 : modelOf(first.name).kvBytesPerToken * (500 + rng() * 3000);
  const hbmUsedBytes = Math.round(Math.min(node.hbmTotalBytes * 0.98, weightsBytes + inFlight * kvPerSequence));
  const utilisation = Math.min(1, inFlight / node.maxBatchSize);
  const { profile, chips } = node;
  const powerDrawWatts =
    chips *
    (profile.idleWattsPerChip + (profile.peakWattsPerChip - profile.idleWattsPerChip) * (0.15 + 0.75 * utilisation));
  return {
    v: PROTOCOL_VERSION,
    nodeId: node.nodeId,
    incarnation: node.incarnation,
    seq,
    sentAtMs,
    cluster: node.cluster,
    zone: node.zone,
    state: draining ? 'draining' : 'ready',
    accelerator: { profile: profile.name, count: chips, hbmTotalBytes: node.hbmTotalBytes, hbmUsedBytes },
    models: [...node.models],
    queueDepth,
    inFlight,
    maxBatchSize: node.maxBatchSize,
    utilization: Math.round(utilisation * 1000) / 1000,
    powerDrawWatts: Math.round(Math.min(powerDrawWatts, limitWatts)),
    powerLimitWatts: limitWatts,
    temperatureC: Math.round(35 + 45 * utilisation),
  };
}

/** Node `index` of the fleet: its cluster, zone, profile, size and models, all drawn from `rng`. */
export function describeNode(index: number, rng: () => number): FixtureNode {
  const site = pick(rng, FIXTURE_CLUSTERS);
  const mix = pickWeighted(rng, PROFILE_MIX, (m) => m.share);
  const profile = getProfile(mix.profile);
  if (profile === undefined) throw new RangeError(`fixture names unknown profile ${mix.profile}`);
  const [chips] = pickWeighted(rng, mix.chipCounts, ([, weight]) => weight);
  const names = pick(rng, fittingDeployments(mix, profile, chips));
  // 3 % of nodes are still loading their last model (it counts against HBM but cannot serve).
  const loadingLast = names.length > 1 && rng() < 0.03;
  const models = names.map((name, i): LoadedModel => ({
    name,
    state: loadingLast && i === names.length - 1 ? 'loading' : 'loaded',
  }));
  return {
    nodeId: `${site.cluster}-${profile.name}-${index.toString().padStart(6, '0')}`,
    incarnation: `i${Math.floor(rng() * 0xffffffff).toString(16)}`,
    cluster: site.cluster,
    zone: pick(rng, site.zones),
    profile,
    chips,
    maxBatchSize: Math.max(8, Math.round((profile.maxBatchSize * chips) / profile.referenceChipsPerNode)),
    hbmTotalBytes: profile.hbmBytesPerChip * chips,
    models,
  };
}
