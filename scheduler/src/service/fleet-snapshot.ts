import { type HostView, type PowerStage, type SessionState, SLO_CLASSES, type SloClass } from '@switchyard/protocol';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { NodeRecord } from '../core/fleet/node-record.js';
import type { SessionRegistry } from '../core/sessions/session-registry.js';
import type { ClassQueueStats } from './admission/admission-lane.js';

/** What the fleet snapshot reads: the scheduler's live state, at the moment it is asked. */
export interface FleetSnapshotSource {
  readonly schedulerId: string;
  readonly isLeader: boolean;
  readonly fleet: FleetView;
  readonly sessions: SessionRegistry;
  /** Admission queue figures per class while leading (undefined on a standby). */
  readonly queues: ((sloClass: SloClass) => ClassQueueStats) | undefined;
}

/** How an operator sees a node, worst first: liveness, then a report that cannot be true, then operator and agent intent. */
export const NODE_STATES = ['dead', 'suspect', 'anomalous', 'draining', 'cordoned', 'ready'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** Nodes of each state. */
export type NodeStateCounts = Record<NodeState, number>;

/** One cluster: its power against its budget and its nodes by state. */
export interface ClusterSnapshot {
  readonly name: string;
  readonly location: string;
  /** Null for a cluster without a power budget. */
  readonly budgetWatts: number | null;
  /** The budget less its safety margin (null without a budget). */
  readonly usableWatts: number | null;
  readonly measuredWatts: number;
  /** Measured plus the predicted draw of work placed since it was measured. */
  readonly committedWatts: number;
  readonly stage: PowerStage;
  readonly nodes: NodeStateCounts;
  readonly nodesTotal: number;
}

/** One node as the page lists it. */
export interface NodeSnapshot {
  readonly nodeId: string;
  readonly cluster: string;
  readonly zone: string;
  readonly profile: string;
  readonly chips: number;
  readonly state: NodeState;
  /** Why its last report cannot be true, when state is `anomalous`. */
  readonly anomaly: string | null;
  /** Work on the node as the scheduler knows it (reported, or placed and not yet reported if more). */
  readonly load: number;
  readonly maxBatchSize: number;
  readonly queueDepth: number;
  readonly utilization: number;
  readonly powerDrawWatts: number;
  readonly powerLimitWatts: number;
  readonly hbmUsedBytes: number;
  readonly hbmTotalBytes: number;
  /** Models ready to serve. */
  readonly models: readonly string[];
  /** Models still loading. */
  readonly loadingModels: readonly string[];
  readonly heartbeatAgeMs: number;
  /** The Kubernetes Node the agent runs on and what the API says of it; null outside Kubernetes. */
  readonly host: { readonly name: string; readonly condition: HostView['condition'] } | null;
}

/** One SLO class's admission queue. */
export interface QueueSnapshot {
  readonly sloClass: SloClass;
  readonly queued: number;
  readonly waitingForCapacity: number;
  readonly placed: number;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly oldestWaitMs: number;
}

/** What `/api/fleet` serves and the fleet page shows: plain JSON, no credentials, no request or session ids. */
export interface FleetSnapshot {
  readonly v: 1;
  readonly schedulerId: string;
  readonly leader: boolean;
  readonly atMs: number;
  /** Every cluster, configured or seen, by name. */
  readonly clusters: readonly ClusterSnapshot[];
  /** At most MAX_SNAPSHOT_NODES nodes (those not ready first), by cluster then id. */
  readonly nodes: readonly NodeSnapshot[];
  /** Nodes the scheduler knows, listed or not. */
  readonly nodesTotal: number;
  readonly sessions: {
    readonly total: number;
    readonly byState: Record<SessionState, number>;
    /** Unclosed sessions whose owner is unknown or not alive: they wait to be moved. */
    readonly withoutLiveOwner: number;
  };
  /** Admission queues in SLO class order; null on a standby, which admits nothing. */
  readonly queues: readonly QueueSnapshot[] | null;
}

/** Bounds the JSON (about 500 B a node) that the page fetches every second. */
export const MAX_SNAPSHOT_NODES = 2_000;

/** The state the page shows for a node (see NODE_STATES for the precedence). */
export function nodeStateOf(node: NodeRecord): NodeState {
  if (node.liveness !== 'alive') return node.liveness;
  if (node.anomaly !== undefined) return 'anomalous';
  if (node.operatorState === 'draining' || node.reportedState === 'draining' || node.hostDraining) return 'draining';
  return node.operatorState === 'cordoned' ? 'cordoned' : 'ready';
}

/**
 * Builds the fleet page's snapshot from the scheduler's live state at `nowMs`. Pure: reads, never
 * changes, what it is given. O(nodes log nodes + sessions); called once a second per open page.
 */
export function fleetSnapshot(source: FleetSnapshotSource, nowMs: number): FleetSnapshot {
  const { fleet } = source;
  const countsByCluster = new Map<string, NodeStateCounts>();
  const notReady: NodeRecord[] = [];
  const ready: NodeRecord[] = [];
  const stateOf = new Map<NodeRecord, NodeState>();
  for (const node of fleet.nodes) {
    const state = nodeStateOf(node);
    stateOf.set(node, state);
    let counts = countsByCluster.get(node.cluster);
    if (counts === undefined) {
      counts = emptyCounts();
      countsByCluster.set(node.cluster, counts);
    }
    counts[state]++;
    (state === 'ready' ? ready : notReady).push(node);
  }
  // Trouble is what an operator opens the page for: nodes not ready are never the ones left out.
  const listed = [...notReady, ...ready].slice(0, MAX_SNAPSHOT_NODES);
  listed.sort((a, b) => compareText(a.cluster, b.cluster) || compareText(a.nodeId, b.nodeId));

  const clusters = [...fleet.topology.all()]
    .map((cluster): ClusterSnapshot => {
      const nodes = countsByCluster.get(cluster.name) ?? emptyCounts();
      return {
        name: cluster.name,
        location: cluster.location,
        budgetWatts: cluster.budgeted ? Math.round(cluster.budgetWatts) : null,
        usableWatts: cluster.budgeted ? Math.round(cluster.usableWatts) : null,
        measuredWatts: Math.round(cluster.measuredWatts),
        committedWatts: Math.round(cluster.committedWatts),
        stage: cluster.stage,
        nodes,
        nodesTotal: NODE_STATES.reduce((sum, state) => sum + nodes[state], 0),
      };
    })
    .sort((a, b) => compareText(a.name, b.name));

  return {
    v: 1,
    schedulerId: source.schedulerId,
    leader: source.isLeader,
    atMs: nowMs,
    clusters,
    nodes: listed.map((node) => nodeSnapshot(node, stateOf.get(node) ?? nodeStateOf(node), nowMs)),
    nodesTotal: fleet.size,
    sessions: sessionCounts(source.sessions, fleet),
    queues: source.queues === undefined ? null : queueSnapshots(source.queues),
  };
}

function nodeSnapshot(node: NodeRecord, state: NodeState, nowMs: number): NodeSnapshot {
  const loadingModels: string[] = [];
  for (const model of node.models) if (model.state !== 'loaded') loadingModels.push(model.name);
  return {
    nodeId: node.nodeId,
    cluster: node.cluster,
    zone: node.zone,
    profile: node.profileName,
    chips: node.hardware.chipCount,
    state,
    anomaly: node.anomaly ?? null,
    load: node.load,
    maxBatchSize: node.maxBatchSize,
    queueDepth: node.queueDepth,
    utilization: node.utilization,
    powerDrawWatts: Math.round(node.powerDrawWatts),
    powerLimitWatts: Math.round(node.powerLimitWatts),
    hbmUsedBytes: node.hbmUsedBytes,
    hbmTotalBytes: node.hbmTotalBytes,
    models: [...node.loadedModels].sort(compareText),
    loadingModels: loadingModels.sort(compareText),
    heartbeatAgeMs: Math.max(0, nowMs - node.lastHeartbeatMs),
    host: node.host === undefined ? null : { name: node.host.kubernetesNode, condition: node.host.condition },
  };
}

function sessionCounts(registry: SessionRegistry, fleet: FleetView): FleetSnapshot['sessions'] {
  const byState: Record<SessionState, number> = { open: 0, migrating: 0, closed: 0 };
  // The registry lists unclosed sessions only as orphans: with no owner counted as live, that is all of them.
  const unclosed = registry.orphans(() => false);
  let withoutLiveOwner = 0;
  for (const record of unclosed) {
    byState[record.state]++;
    const owner = record.ownerNodeId === null ? undefined : fleet.get(record.ownerNodeId);
    if (owner?.liveness !== 'alive') withoutLiveOwner++;
  }
  byState.closed = registry.size - unclosed.length;
  return { total: registry.size, byState, withoutLiveOwner };
}

function queueSnapshots(queues: (sloClass: SloClass) => ClassQueueStats): QueueSnapshot[] {
  return SLO_CLASSES.map((sloClass) => {
    const stats = queues(sloClass);
    return {
      sloClass,
      queued: stats.queued,
      waitingForCapacity: stats.waitingForCapacity,
      placed: stats.placed,
      concurrency: stats.concurrency,
      maxQueued: stats.maxQueued,
      oldestWaitMs: Math.round(stats.oldestWaitMs),
    };
  });
}

function emptyCounts(): NodeStateCounts {
  return { dead: 0, suspect: 0, anomalous: 0, draining: 0, cordoned: 0, ready: 0 };
}

/** Code-unit order: the same in every locale, and cheap over thousands of ids. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
