import type { AcceleratorProfile, NodeHardware } from '@switchyard/fleet-model';
import type { Heartbeat, HostView, LoadedModel, SloClass, Telemetry } from '@switchyard/protocol';
import type { ClusterState } from '../topology/cluster-state.js';

/** Liveness as judged by the failure detector from heartbeat gaps. */
export type Liveness = 'alive' | 'suspect' | 'dead';

/** What an operator asked of a node. `draining` = cordoned and waiting for its work to end. */
export type OperatorState = 'active' | 'cordoned' | 'draining';

/** One placement the scheduler has made on a node and not yet seen finish (assume → confirm → release). */
export interface Reservation {
  readonly requestId: string;
  readonly nodeId: string;
  readonly model: string;
  readonly kvBytes: number;
  /** Predicted service time on this node, used to estimate its backlog. */
  readonly predictedServiceMs: number;
  /** Predicted rise in the node's draw while this work runs. */
  readonly powerDeltaWatts: number;
  readonly sloClass: SloClass;
  readonly assumedAtMs: number;
  /** Set when the agent acknowledged the assignment. */
  confirmedAtMs: number | undefined;
}

/** A bucket of a placement index holding this node (owned by the index; see PlacementIndex). */
export interface IndexBucket {
  readonly nodes: NodeRecord[];
}

/**
 * The scheduler's record of one node: the last reported status plus what only the scheduler knows
 * (reservations, liveness, operator state). A class with fixed fields so that the placement loop
 * over thousands of nodes stays monomorphic and allocation-free.
 */
export class NodeRecord {
  /** Position in FleetView's dense array; maintained by FleetView for O(1) removal. */
  index = -1;
  incarnation: string;
  lastSeq = 0;
  lastHeartbeatMs = 0;
  liveness: Liveness = 'alive';
  operatorState: OperatorState = 'active';
  /** Agent's own state: `draining` when it is shutting down. */
  reportedState: Heartbeat['state'] = 'ready';
  cluster = '';
  zone = '';
  readonly hardware: NodeHardware;
  models: readonly LoadedModel[] = [];
  /** Names of models with state `loaded`, for O(1) lookups in filters. */
  loadedModels: ReadonlySet<string> = new Set();
  queueDepth = 0;
  inFlight = 0;
  maxBatchSize = 0;
  hbmTotalBytes = 0;
  hbmUsedBytes = 0;
  utilization = 0;
  powerDrawWatts = 0;
  powerLimitWatts = 0;
  temperatureC = 0;
  /** Where the node's figures come from and whether its hardware probe fails (absent: simulated). */
  telemetry: Telemetry | undefined = undefined;
  /** The Kubernetes Node the agent says it runs on (undefined outside Kubernetes). */
  kubernetesNode: string | undefined = undefined;
  /** What the Kubernetes API says of that Node (undefined outside Kubernetes or without the integration). */
  host: HostView | undefined = undefined;
  /** The Node is cordoned or not Ready: no new work, and its sessions move elsewhere. */
  hostDraining = false;
  /** Open reservations by request id. */
  readonly reservations = new Map<string, Reservation>();
  /** Σ kvBytes of open reservations not yet visible in a heartbeat's hbmUsedBytes. */
  reservedKvBytes = 0;
  /** Σ predictedServiceMs of open reservations. */
  reservedServiceMs = 0;
  /** Placements made since the last heartbeat: work the reported queue does not show yet. */
  assumedSinceHeartbeat = 0;
  /** Σ predicted power delta of those placements (their draw is not in powerDrawWatts yet). */
  assumedPowerWatts = 0;
  /** Open reservations of SLO class `batch` (the power controller caps such nodes first). */
  batchReservations = 0;
  /** The node's cluster; FleetView attaches it and keeps its power sums. */
  clusterState: ClusterState | undefined = undefined;
  /** The draw this node currently contributes to its cluster's measured sum (−1 once taken out). */
  countedDrawWatts = 0;
  /**
   * Why the last report cannot be true (e.g. drawing well above its own power limit, using more
   * memory than it has); such a node gets no new work until it reports sensibly again.
   */
  anomaly: string | undefined = undefined;
  /**
   * Nodes with equal family keys have the same hardware, batch size and loaded models, so every
   * scorer that looks only at those and at load sees them as interchangeable (PlacementIndex).
   */
  familyKey = '';
  /** Where the placement index keeps this node, for O(1) moves; undefined when not indexed. */
  indexBucket: IndexBucket | undefined = undefined;
  indexSlot = -1;

  constructor(
    readonly nodeId: string,
    profile: AcceleratorProfile,
    status: Heartbeat,
    nowMs: number,
  ) {
    this.hardware = { profile, chipCount: status.accelerator.count };
    this.incarnation = status.incarnation;
    this.applyStatus(status, nowMs);
  }

  /** Copies a heartbeat's dynamic fields. The caller has checked incarnation and sequence. */
  applyStatus(status: Heartbeat, nowMs: number): void {
    this.assumedSinceHeartbeat = 0;
    this.assumedPowerWatts = 0;
    this.lastSeq = status.seq;
    this.lastHeartbeatMs = nowMs;
    this.liveness = 'alive';
    this.reportedState = status.state;
    const clusterChanged = this.cluster !== status.cluster;
    this.cluster = status.cluster;
    this.zone = status.zone;
    const batchChanged =
      this.maxBatchSize !== status.maxBatchSize ||
      clusterChanged ||
      Math.round(this.powerLimitWatts) !== Math.round(status.powerLimitWatts);
    this.maxBatchSize = status.maxBatchSize;
    this.powerLimitWatts = status.powerLimitWatts;
    if (!sameModels(this.models, status.models)) {
      this.models = status.models;
      this.loadedModels = loadedSet(status.models);
      this.familyKey = familyKeyOf(this);
    } else if (batchChanged || this.familyKey === '') {
      this.familyKey = familyKeyOf(this);
    }
    this.queueDepth = status.queueDepth;
    this.inFlight = status.inFlight;
    this.hbmTotalBytes = status.accelerator.hbmTotalBytes;
    this.hbmUsedBytes = status.accelerator.hbmUsedBytes;
    this.utilization = status.utilization;
    this.powerDrawWatts = status.powerDrawWatts;
    this.powerLimitWatts = status.powerLimitWatts;
    this.temperatureC = status.temperatureC;
    this.telemetry = status.telemetry;
    this.anomaly = anomalyOf(this);
  }

  get profileName(): string {
    return this.hardware.profile.name;
  }

  /** Whether new work may be placed here: alive, trusted, not cordoned or draining by operator, agent or Kubernetes. */
  get schedulable(): boolean {
    return (
      this.liveness === 'alive' &&
      this.operatorState === 'active' &&
      this.reportedState === 'ready' &&
      !this.hostDraining &&
      this.anomaly === undefined
    );
  }

  /** Prompts waiting ahead on the node's serial prefill lane: reported waiting plus our placements since. */
  get prefillBacklog(): number {
    return this.queueDepth + this.assumedSinceHeartbeat;
  }

  /**
   * Work on the node as the scheduler best knows it: the larger of what the agent last reported
   * and what we have placed and not yet seen finish (the report lags our own placements).
   */
  get load(): number {
    const reported = this.queueDepth + this.inFlight;
    return reported > this.reservations.size ? reported : this.reservations.size;
  }
}

/** Slack for sensor noise and the time a new limit takes to bite before a draw over the limit is nonsense. */
const POWER_OVER_LIMIT_TOLERANCE = 1.1;

function anomalyOf(node: NodeRecord): string | undefined {
  if (node.hbmUsedBytes > node.hbmTotalBytes) {
    return `reports ${node.hbmUsedBytes} B of HBM used of ${node.hbmTotalBytes} B`;
  }
  if (node.powerLimitWatts > 0 && node.powerDrawWatts > node.powerLimitWatts * POWER_OVER_LIMIT_TOLERANCE) {
    return `reports drawing ${node.powerDrawWatts} W above its ${node.powerLimitWatts} W power limit`;
  }
  const peak = node.hardware.profile.peakWattsPerChip * node.hardware.chipCount;
  if (node.powerDrawWatts > peak * 2) {
    return `reports drawing ${node.powerDrawWatts} W, over twice its hardware peak of ${peak} W`;
  }
  return undefined;
}

function familyKeyOf(node: NodeRecord): string {
  const models = [...node.loadedModels].sort().join(',');
  // Cluster and power limit are part of the family: network latency and power headroom are per
  // cluster, and a limit below demand slows the node.
  const { profile, chipCount } = node.hardware;
  return `${node.cluster}/${profile.name}/${chipCount}/${node.maxBatchSize}/${Math.round(node.powerLimitWatts)}/${models}`;
}

function loadedSet(models: readonly LoadedModel[]): ReadonlySet<string> {
  const set = new Set<string>();
  for (const model of models) if (model.state === 'loaded') set.add(model.name);
  return set;
}

function sameModels(a: readonly LoadedModel[], b: readonly LoadedModel[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.name !== y.name || x.state !== y.state) return false;
  }
  return true;
}

/** Whether what Kubernetes says of a Node means its agents must drain: cordoned, not Ready, or deleted. */
export function hostMeansDrain(host: HostView | undefined): boolean {
  return (
    host !== undefined &&
    (host.condition === 'cordoned' || host.condition === 'not-ready' || host.condition === 'deleted')
  );
}
