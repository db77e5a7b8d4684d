import type { AcceleratorProfile } from '@switchyard/fleet-model';
import type { Heartbeat, HostView, Registration } from '@switchyard/protocol';
import { type FailureDetectorConfig, livenessAt } from './failure-detector.js';
import type { PlacementIndex } from '../placement/placement-index.js';
import { Topology } from '../topology/topology.js';
import { hostMeansDrain, NodeRecord, type OperatorState, type Reservation } from './node-record.js';

/** Result of a registration. `lost` holds reservations of a previous incarnation of the node: that work is gone. */
export type RegisterOutcome =
  | { ok: true; node: NodeRecord; lost: Reservation[]; replaced: boolean }
  | { ok: false; code: 'UNKNOWN_PROFILE'; message: string };

/** What became of a heartbeat. Unknown nodes (or a new incarnation without registration) must register. */
export type HeartbeatOutcome = 'applied' | 'stale' | 'unknown-node';

/** Nodes whose liveness changed in a sweep, and the reservations stranded on the dead ones. */
export interface SweepResult {
  readonly suspected: NodeRecord[];
  readonly died: { node: NodeRecord; lost: Reservation[] }[];
  readonly forgotten: string[];
}

/** Where the fleet view reads what Kubernetes says of a Node (see KubernetesNodeWatcher). */
export interface HostLookup {
  get(kubernetesNode: string): HostView | undefined;
}

/** Nodes whose Kubernetes Node changed so that they must drain, or may serve again. */
export interface HostChange {
  readonly drained: NodeRecord[];
  readonly restored: NodeRecord[];
}

/**
 * The scheduler's live view of the fleet, built from registrations and heartbeats, plus the
 * reservations the scheduler has made (assume, confirm, release). Single-threaded by design:
 * placement reads it as a consistent snapshot because nothing else runs during a decision.
 */
export class FleetView {
  private readonly byId = new Map<string, NodeRecord>();
  /** Dense array for allocation-free scans; order is unspecified. */
  private readonly dense: NodeRecord[] = [];
  private readonly reservationsById = new Map<string, Reservation>();
  private readonly byKubernetesNode = new Map<string, Set<NodeRecord>>();

  constructor(
    private readonly profiles: (name: string) => AcceleratorProfile | undefined,
    private readonly detector: FailureDetectorConfig,
    /** Kept current on every change placement may care about; placement searches it. */
    readonly index?: PlacementIndex,
    /** Clusters and regions; nodes are attached to their cluster's state, which sums their power. */
    readonly topology: Topology = new Topology(),
    /** What Kubernetes says of the Nodes agents run on (absent outside Kubernetes). */
    private readonly hosts?: HostLookup,
  ) {}

  /** All known nodes (including suspect and dead ones not yet forgotten). Do not mutate. */
  get nodes(): readonly NodeRecord[] {
    return this.dense;
  }

  get size(): number {
    return this.dense.length;
  }

  get openReservations(): number {
    return this.reservationsById.size;
  }

  get(nodeId: string): NodeRecord | undefined {
    return this.byId.get(nodeId);
  }

  /** Adds or re-adds a node. A new incarnation replaces the old record; the old one's open work is lost. */
  register(registration: Registration, nowMs: number): RegisterOutcome {
    const profile = this.profiles(registration.accelerator.profile);
    if (profile === undefined) {
      return {
        ok: false,
        code: 'UNKNOWN_PROFILE',
        message: `accelerator profile ${JSON.stringify(registration.accelerator.profile)} is not known to this scheduler`,
      };
    }
    const existing = this.byId.get(registration.nodeId);
    if (existing !== undefined && existing.incarnation === registration.incarnation) {
      // The same process registering again (e.g. it missed our ack): keep its reservations, and
      // its newer status unless this registration is an older, delayed one.
      if (registration.seq > existing.lastSeq) this.applyStatus(existing, registration, nowMs);
      this.index?.changed(existing);
      return { ok: true, node: existing, lost: [], replaced: false };
    }
    const lost = existing === undefined ? [] : this.remove(existing);
    const node = new NodeRecord(registration.nodeId, profile, registration, nowMs);
    this.account(node);
    if (existing !== undefined) node.operatorState = existing.operatorState;
    this.attachHost(node, registration.kubernetesNode);
    node.index = this.dense.length;
    this.dense.push(node);
    this.byId.set(node.nodeId, node);
    this.index?.changed(node);
    return { ok: true, node, lost, replaced: existing !== undefined };
  }

  /** Applies a heartbeat from a registered incarnation; drops reordered or repeated ones. */
  applyHeartbeat(heartbeat: Heartbeat, nowMs: number): HeartbeatOutcome {
    const node = this.byId.get(heartbeat.nodeId);
    if (node === undefined || node.incarnation !== heartbeat.incarnation || node.liveness === 'dead') {
      return 'unknown-node';
    }
    if (heartbeat.seq <= node.lastSeq) return 'stale';
    this.applyStatus(node, heartbeat, nowMs);
    this.index?.changed(node);
    return 'applied';
  }

  /** Removes a node that said goodbye. Returns the reservations it still held (normally none). */
  deregister(nodeId: string, incarnation: string): Reservation[] | undefined {
    const node = this.byId.get(nodeId);
    if (node === undefined || node.incarnation !== incarnation) return undefined;
    return this.remove(node);
  }

  /** Re-judges every node's liveness at `nowMs`. Dead nodes lose their reservations to the caller. */
  sweep(nowMs: number): SweepResult {
    const result: SweepResult = { suspected: [], died: [], forgotten: [] };
    for (let i = this.dense.length - 1; i >= 0; i--) {
      const node = this.dense[i];
      if (node === undefined) continue;
      const silentMs = nowMs - node.lastHeartbeatMs;
      if (silentMs >= this.detector.forgetAfterMs) {
        // Normally long dead by now; but a long pause between sweeps (suspend, clock jump) or
        // forgetAfterMs = deadAfterMs can skip 'dead': its work must still be handed back.
        const wasDead = node.liveness === 'dead';
        node.liveness = 'dead';
        const lost = this.remove(node);
        if (!wasDead) result.died.push({ node, lost });
        result.forgotten.push(node.nodeId);
        continue;
      }
      const liveness = livenessAt(node.lastHeartbeatMs, nowMs, this.detector);
      if (liveness === node.liveness) continue;
      if (liveness === 'dead') {
        node.liveness = 'dead';
        this.unaccount(node);
        result.died.push({ node, lost: this.dropReservations(node) });
        this.index?.changed(node);
      } else if (liveness === 'suspect' && node.liveness === 'alive') {
        node.liveness = 'suspect';
        result.suspected.push(node);
        this.index?.changed(node);
      }
    }
    return result;
  }

  /**
   * Marks a node suspect at once on evidence stronger than silence (NATS said nobody listens on its
   * subject). Its next heartbeat makes it alive again; the sweep still decides death.
   */
  markSuspect(nodeId: string): boolean {
    const node = this.byId.get(nodeId);
    if (node === undefined || node.liveness !== 'alive') return false;
    node.liveness = 'suspect';
    this.index?.changed(node);
    return true;
  }

  /** Sets what an operator asked of a node. Returns false for an unknown node. */
  setOperatorState(nodeId: string, state: OperatorState): NodeRecord | undefined {
    const node = this.byId.get(nodeId);
    if (node !== undefined) {
      node.operatorState = state;
      this.index?.changed(node);
    }
    return node;
  }

  /**
   * Applies what Kubernetes now says of a Node to every node whose agent runs there. Returns those
   * that must drain now and those that may serve again.
   */
  applyHost(host: HostView): HostChange {
    const change: HostChange = { drained: [], restored: [] };
    const nodes = this.byKubernetesNode.get(host.kubernetesNode);
    if (nodes === undefined) return change;
    const draining = hostMeansDrain(host);
    for (const node of nodes) {
      node.host = host;
      if (node.hostDraining === draining) continue;
      node.hostDraining = draining;
      (draining ? change.drained : change.restored).push(node);
      this.index?.changed(node);
    }
    return change;
  }

  /** Assume: reserve capacity on a node for a placement, before the agent has seen it. */
  assume(reservation: Reservation): void {
    const node = this.byId.get(reservation.nodeId);
    if (node === undefined) throw new RangeError(`cannot reserve on unknown node ${reservation.nodeId}`);
    if (this.reservationsById.has(reservation.requestId)) {
      throw new RangeError(`request ${reservation.requestId} already holds a reservation`);
    }
    node.reservations.set(reservation.requestId, reservation);
    node.reservedKvBytes += reservation.kvBytes;
    node.reservedServiceMs += reservation.predictedServiceMs;
    node.assumedSinceHeartbeat++;
    node.assumedPowerWatts += reservation.powerDeltaWatts;
    if (node.clusterState !== undefined) node.clusterState.predictedWatts += reservation.powerDeltaWatts;
    if (reservation.sloClass === 'batch') node.batchReservations++;
    this.reservationsById.set(reservation.requestId, reservation);
    this.index?.changed(node);
  }

  /** Confirm: the agent acknowledged the assignment. Returns the reservation, or undefined if already released. */
  confirm(requestId: string, nowMs: number): Reservation | undefined {
    const reservation = this.reservationsById.get(requestId);
    if (reservation !== undefined) reservation.confirmedAtMs = nowMs;
    return reservation;
  }

  /** Release: the work ended (answered, failed, refused or lost). Idempotent. */
  release(requestId: string): Reservation | undefined {
    const reservation = this.reservationsById.get(requestId);
    if (reservation === undefined) return undefined;
    this.reservationsById.delete(requestId);
    const node = this.byId.get(reservation.nodeId);
    if (node !== undefined && node.reservations.delete(requestId)) {
      node.reservedKvBytes -= reservation.kvBytes;
      node.reservedServiceMs -= reservation.predictedServiceMs;
      if (reservation.sloClass === 'batch') node.batchReservations--;
      this.index?.changed(node);
    }
    return reservation;
  }

  reservation(requestId: string): Reservation | undefined {
    return this.reservationsById.get(requestId);
  }

  /** Copies a status into the record and moves its power from what it last reported to what it reports now. */
  private applyStatus(node: NodeRecord, status: Heartbeat, nowMs: number): void {
    const previousCluster = node.cluster;
    this.unaccount(node);
    node.applyStatus(status, nowMs);
    if (node.kubernetesNode !== status.kubernetesNode) this.attachHost(node, status.kubernetesNode);
    if (node.cluster !== previousCluster || node.clusterState === undefined) {
      node.clusterState = this.topology.cluster(node.cluster);
    }
    this.account(node);
  }

  /** Adds a live node's reported draw (and what we placed since) to its cluster. */
  private account(node: NodeRecord): void {
    const state = (node.clusterState ??= this.topology.cluster(node.cluster));
    // A report flagged as nonsense counts at most what the node could draw: one broken sensor
    // must not push its cluster into the cap stage.
    const ceiling = Math.max(node.powerLimitWatts, node.hardware.profile.peakWattsPerChip * node.hardware.chipCount);
    node.countedDrawWatts = node.anomaly === undefined ? node.powerDrawWatts : Math.min(node.powerDrawWatts, ceiling);
    state.measuredWatts += node.countedDrawWatts;
    state.predictedWatts += node.assumedPowerWatts;
    state.liveNodes++;
  }

  /** Takes the node's draw out of its cluster (it died, left, or is about to report anew). */
  private unaccount(node: NodeRecord): void {
    const state = node.clusterState;
    if (state === undefined || node.countedDrawWatts < 0) return;
    state.measuredWatts = Math.max(0, state.measuredWatts - node.countedDrawWatts);
    state.predictedWatts = Math.max(0, state.predictedWatts - node.assumedPowerWatts);
    state.liveNodes--;
    node.countedDrawWatts = -1;
  }

  private remove(node: NodeRecord): Reservation[] {
    this.unaccount(node); // idempotent: a node that died first was taken out then
    const lost = this.dropReservations(node);
    const last = this.dense.pop();
    if (last !== undefined && last !== node) {
      this.dense[node.index] = last;
      last.index = node.index;
    }
    node.index = -1;
    this.detachHost(node);
    this.byId.delete(node.nodeId);
    this.index?.removed(node);
    return lost;
  }

  /** Files the node under its Kubernetes Node and takes that Node's current state. */
  private attachHost(node: NodeRecord, kubernetesNode: string | undefined): void {
    this.detachHost(node);
    node.kubernetesNode = kubernetesNode;
    if (kubernetesNode === undefined) {
      node.host = undefined;
      node.hostDraining = false;
      return;
    }
    let nodes = this.byKubernetesNode.get(kubernetesNode);
    if (nodes === undefined) this.byKubernetesNode.set(kubernetesNode, (nodes = new Set()));
    nodes.add(node);
    node.host = this.hosts === undefined ? undefined : (this.hosts.get(kubernetesNode) ?? unknownHost(kubernetesNode));
    node.hostDraining = hostMeansDrain(node.host);
  }

  private detachHost(node: NodeRecord): void {
    if (node.kubernetesNode === undefined) return;
    const nodes = this.byKubernetesNode.get(node.kubernetesNode);
    nodes?.delete(node);
    if (nodes?.size === 0) this.byKubernetesNode.delete(node.kubernetesNode);
  }

  private dropReservations(node: NodeRecord): Reservation[] {
    const lost = [...node.reservations.values()];
    for (const reservation of lost) this.reservationsById.delete(reservation.requestId);
    node.reservations.clear();
    node.reservedKvBytes = 0;
    node.reservedServiceMs = 0;
    node.batchReservations = 0;
    return lost;
  }
}

/** A Node the watcher has not seen (yet, or any more): it neither drains nor vouches for the node. */
function unknownHost(kubernetesNode: string): HostView {
  return { kubernetesNode, condition: 'unknown' };
}
