/**
 * Builders for tests of the scheduler core and services: protocol messages (Heartbeat,
 * Registration), NodeRecords and placement requests over the fleet model's real profiles and
 * models. Test-only; nothing in the scheduler imports it.
 */
import { type AcceleratorProfile, getModel, getProfile, type ModelSpec } from '@switchyard/fleet-model';
import {
  PROTOCOL_VERSION,
  type Heartbeat,
  type LoadedModel,
  type Registration,
  type SloClass,
} from '@switchyard/protocol';
import { NodeRecord, type Reservation } from './fleet/node-record.js';
import { estimateOn } from './placement/estimate.js';
import type { Candidate, PlacementRequest } from './placement/types.js';

/** What a test says about a node; everything else gets a plausible default for the profile. */
export interface NodeSpec {
  readonly nodeId?: string;
  readonly incarnation?: string;
  readonly seq?: number;
  readonly profile?: string;
  /** Chips on the node (default: the profile's reference node). */
  readonly chips?: number;
  readonly cluster?: string;
  readonly zone?: string;
  readonly state?: Heartbeat['state'];
  /** Models with state `loaded`. */
  readonly loaded?: readonly string[];
  /** Models with state `loading`. */
  readonly loading?: readonly string[];
  readonly queueDepth?: number;
  readonly inFlight?: number;
  readonly maxBatchSize?: number;
  /** Share of the last interval the accelerators computed, 0..1 (default 0). */
  readonly utilization?: number;
  /** Default: the weights of every loaded or loading model. */
  readonly hbmUsedBytes?: number;
  /** Default: chips × the profile's HBM per chip. */
  readonly hbmTotalBytes?: number;
  readonly powerDrawWatts?: number;
  readonly powerLimitWatts?: number;
  readonly temperatureC?: number;
}

/** The profile with this name; throws on a typo so a test cannot silently use undefined. */
export function profile(name: string): AcceleratorProfile {
  const found = getProfile(name);
  if (found === undefined) throw new TypeError(`test fixture: unknown profile ${name}`);
  return found;
}

/** The catalogue model with this name; throws on a typo. */
export function model(name: string): ModelSpec {
  const found = getModel(name);
  if (found === undefined) throw new TypeError(`test fixture: unknown model ${name}`);
  return found;
}

/** A heartbeat body as an agent would send it. */
export function heartbeat(spec: NodeSpec = {}): Heartbeat {
  const profileName = spec.profile ?? 'h100';
  const known = getProfile(profileName);
  const chips = spec.chips ?? known?.referenceChipsPerNode ?? 1;
  const loaded = spec.loaded ?? [];
  const loading = spec.loading ?? [];
  const models: LoadedModel[] = [
    ...loaded.map((name) => ({ name, state: 'loaded' as const })),
    ...loading.map((name) => ({ name, state: 'loading' as const })),
  ];
  const weights = [...loaded, ...loading].reduce((sum, name) => sum + (getModel(name)?.weightBytes ?? 0), 0);
  return {
    v: PROTOCOL_VERSION,
    nodeId: spec.nodeId ?? 'node-1',
    incarnation: spec.incarnation ?? 'inc-1',
    seq: spec.seq ?? 0,
    sentAtMs: 1_700_000_000_000,
    cluster: spec.cluster ?? 'cluster-a',
    zone: spec.zone ?? 'zone-a1',
    state: spec.state ?? 'ready',
    accelerator: {
      profile: profileName,
      count: chips,
      hbmTotalBytes: spec.hbmTotalBytes ?? (known?.hbmBytesPerChip ?? 1e9) * chips,
      hbmUsedBytes: spec.hbmUsedBytes ?? weights,
    },
    models,
    queueDepth: spec.queueDepth ?? 0,
    inFlight: spec.inFlight ?? 0,
    maxBatchSize: spec.maxBatchSize ?? known?.maxBatchSize ?? 64,
    utilization: spec.utilization ?? 0,
    powerDrawWatts: spec.powerDrawWatts ?? (known?.idleWattsPerChip ?? 50) * chips,
    powerLimitWatts: spec.powerLimitWatts ?? (known?.peakWattsPerChip ?? 500) * chips,
    temperatureC: spec.temperatureC ?? 40,
  };
}

/** A registration body: a heartbeat plus the agent's settings. */
export function registration(spec: NodeSpec = {}): Registration {
  return { ...heartbeat(spec), agentVersion: '0.1.0-test', heartbeatIntervalMs: 1000 };
}

/** A NodeRecord as FleetView would build it from a registration at `nowMs`. */
export function nodeRecord(spec: NodeSpec = {}, nowMs = 0): NodeRecord {
  const status = heartbeat(spec);
  return new NodeRecord(status.nodeId, profile(status.accelerator.profile), status, nowMs);
}

/** A reservation of `requestId` on `nodeId` with the given size (defaults are small and round). */
export function reservation(
  requestId: string,
  nodeId: string,
  size: {
    kvBytes?: number;
    predictedServiceMs?: number;
    model?: string;
    assumedAtMs?: number;
    powerDeltaWatts?: number;
    sloClass?: SloClass;
  } = {},
): Reservation {
  return {
    requestId,
    nodeId,
    model: size.model ?? 'llama-3.1-8b',
    kvBytes: size.kvBytes ?? 1000,
    predictedServiceMs: size.predictedServiceMs ?? 100,
    powerDeltaWatts: size.powerDeltaWatts ?? 0,
    sloClass: size.sloClass ?? 'interactive',
    assumedAtMs: size.assumedAtMs ?? 0,
    confirmedAtMs: undefined,
  };
}

/**
 * Adds `count` reservations straight onto a record (no FleetView), for plugin tests that need
 * `load`, `reservedKvBytes` or `reservedServiceMs` to include our own placements.
 */
export function addReservations(
  node: NodeRecord,
  count: number,
  each: { kvBytes?: number; predictedServiceMs?: number } = {},
): void {
  for (let i = 0; i < count; i++) {
    const r = reservation(`${node.nodeId}-r${node.reservations.size}`, node.nodeId, each);
    node.reservations.set(r.requestId, r);
    node.reservedKvBytes += r.kvBytes;
    node.reservedServiceMs += r.predictedServiceMs;
  }
}

/** A placement request for a catalogue model (default: 8B, 1000 prompt tokens, 200 output tokens). */
export function placementRequest(
  modelName = 'llama-3.1-8b',
  extra: {
    inputTokens?: number;
    maxOutputTokens?: number;
    excludeNodeIds?: ReadonlySet<string>;
    requestId?: string;
  } = {},
): PlacementRequest {
  const request: PlacementRequest = {
    requestId: extra.requestId ?? 'req-1',
    model: model(modelName),
    inputTokens: extra.inputTokens ?? 1000,
    maxOutputTokens: extra.maxOutputTokens ?? 200,
    priority: 'normal',
    sloClass: 'interactive',
  };
  return extra.excludeNodeIds === undefined ? request : { ...request, excludeNodeIds: extra.excludeNodeIds };
}

/** A candidate as the framework offers it to plugins. */
export function candidate(node: NodeRecord, request: PlacementRequest): Candidate {
  return { node, estimate: () => estimateOn(node, request) };
}
