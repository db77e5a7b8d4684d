import {
  type ClusterView,
  type Deregistration,
  type ErrorReply,
  errorReply,
  type Heartbeat,
  type HostView,
  MAX_MESSAGE_BYTES,
  type NodeCommand,
  type NodeCommandReply,
  type NodeView,
  PROTOCOL_VERSION,
  type Registration,
  type RegistrationAck,
  type StatusReply,
  type StatusRequest,
  type AdminVerb,
  subjects,
} from '@switchyard/protocol';
import { clusterPowerOf } from './power-service.js';
import type { FailureDetectorConfig } from '../core/fleet/failure-detector.js';
import type { FleetView, SweepResult } from '../core/fleet/fleet-view.js';
import type { NodeRecord, Reservation } from '../core/fleet/node-record.js';
import type { Counters, Logger, SchedulerOutbox } from './ports.js';

/** Called with work stranded by a node that died, restarted or left. */
export type LostWorkHandler = (nodeId: string, lost: readonly Reservation[]) => void;

/** Called when a node stops serving what it held (died, left, restarted, drained): its sessions move. */
export type NodeGoneHandler = (nodeId: string, reason: 'died' | 'left' | 'restarted' | 'drained') => void;

/** Unknown nodes are told to register at most this often, so a flood of stray heartbeats stays cheap. */
const NOTICE_INTERVAL_MS = 1000;

/**
 * Keeps the fleet view: registrations, heartbeats, goodbyes, liveness sweeps and operator commands.
 * Bodies arrive decoded; `subjectNodeId` is who the subject says is speaking, and wins over the body.
 */
export class FleetService {
  private readonly lastNoticeMs = new Map<string, number>();
  private readonly startedAtMs: number;

  constructor(
    private readonly schedulerId: string,
    private readonly fleet: FleetView,
    private readonly detector: FailureDetectorConfig,
    private readonly outbox: SchedulerOutbox,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly onLostWork: LostWorkHandler,
    private readonly onNodeGone: NodeGoneHandler = () => undefined,
    /** Room may have appeared (a node joined, reported, or was uncordoned): waiting work may be placed. */
    private readonly onCapacityMayHaveFreed: () => void = () => undefined,
  ) {
    this.startedAtMs = clock();
  }

  register(subjectNodeId: string, registration: Registration): RegistrationAck | ErrorReply {
    if (registration.nodeId !== subjectNodeId) {
      this.counters.increment('registrations.rejected');
      return errorReply(
        'INVALID_REQUEST',
        `body nodeId ${registration.nodeId} does not match subject node ${subjectNodeId}`,
      );
    }
    const outcome = this.fleet.register(registration, this.clock());
    if (!outcome.ok) {
      this.counters.increment('registrations.rejected');
      this.log.warn({ nodeId: subjectNodeId, profile: registration.accelerator.profile }, outcome.message);
      return errorReply(outcome.code, outcome.message);
    }
    this.counters.increment('registrations.accepted');
    this.lastNoticeMs.delete(subjectNodeId);
    this.log.info(
      {
        nodeId: subjectNodeId,
        cluster: registration.cluster,
        profile: registration.accelerator.profile,
        incarnation: registration.incarnation,
      },
      'node registered',
    );
    if (outcome.lost.length > 0) this.onLostWork(subjectNodeId, outcome.lost);
    if (outcome.replaced) this.onNodeGone(subjectNodeId, 'restarted');
    this.onCapacityMayHaveFreed();
    return {
      v: PROTOCOL_VERSION,
      ok: true,
      schedulerId: this.schedulerId,
      suspectAfterMs: this.detector.suspectAfterMs,
      deadAfterMs: this.detector.deadAfterMs,
    };
  }

  heartbeat(subjectNodeId: string, heartbeat: Heartbeat): void {
    if (heartbeat.nodeId !== subjectNodeId) {
      this.drop('identity-mismatch', { nodeId: subjectNodeId, bodyNodeId: heartbeat.nodeId });
      return;
    }
    const outcome = this.fleet.applyHeartbeat(heartbeat, this.clock());
    if (outcome === 'applied') {
      this.counters.increment('heartbeats.applied');
      this.onCapacityMayHaveFreed();
    } else if (outcome === 'stale') {
      this.counters.increment('heartbeats.stale');
    } else {
      this.drop('unknown-node', { nodeId: subjectNodeId });
      this.askToRegister(
        subjectNodeId,
        'this scheduler does not know the node (scheduler restart or node declared dead)',
      );
    }
  }

  /** Counts and logs a fire-and-forget message we refused (it has no reply subject to answer). */
  drop(reason: string, fields: object): void {
    this.counters.increment(`dropped.${reason}`);
    this.log.warn({ ...fields, reason }, 'message dropped');
  }

  deregister(subjectNodeId: string, goodbye: Deregistration): void {
    if (goodbye.nodeId !== subjectNodeId) {
      this.drop('identity-mismatch', { nodeId: subjectNodeId, bodyNodeId: goodbye.nodeId });
      return;
    }
    const lost = this.fleet.deregister(goodbye.nodeId, goodbye.incarnation);
    if (lost === undefined) return;
    this.log.info({ nodeId: goodbye.nodeId, reason: goodbye.reason }, 'node deregistered');
    this.counters.increment('nodes.deregistered');
    if (lost.length > 0) this.onLostWork(goodbye.nodeId, lost);
    this.onNodeGone(goodbye.nodeId, 'left');
  }

  /** Re-judges liveness; hands the work of dead nodes to the lost-work handler. */
  sweep(): SweepResult {
    const result = this.fleet.sweep(this.clock());
    for (const node of result.suspected) {
      this.counters.increment('nodes.suspected');
      this.log.warn(
        { nodeId: node.nodeId, silentMs: this.clock() - node.lastHeartbeatMs },
        'node suspect: no new work',
      );
    }
    for (const { node, lost } of result.died) {
      this.counters.increment('nodes.died');
      this.log.error({ nodeId: node.nodeId, openRequests: lost.length }, 'node dead: moving its work');
      if (lost.length > 0) this.onLostWork(node.nodeId, lost);
      this.onNodeGone(node.nodeId, 'died');
    }
    for (const nodeId of result.forgotten) this.lastNoticeMs.delete(nodeId);
    return result;
  }

  /**
   * Kubernetes changed a Node (see KubernetesNodeWatcher): agents on a cordoned or NotReady Node
   * drain (no new work; their sessions move), and serve again once it is schedulable and Ready.
   */
  hostChanged(host: HostView): void {
    const { drained, restored } = this.fleet.applyHost(host);
    for (const node of drained) {
      this.counters.increment('nodes.host_drained');
      this.log.warn(
        { nodeId: node.nodeId, kubernetesNode: host.kubernetesNode, condition: host.condition },
        'kubernetes node cordoned or not ready: draining',
      );
      this.onNodeGone(node.nodeId, 'drained');
    }
    for (const node of restored) {
      this.log.info({ nodeId: node.nodeId, kubernetesNode: host.kubernetesNode }, 'kubernetes node serving again');
    }
    if (restored.length > 0) this.onCapacityMayHaveFreed();
  }

  command(verb: AdminVerb, command: NodeCommand): NodeCommandReply | ErrorReply {
    const state = verb === 'uncordon' ? 'active' : verb === 'cordon' ? 'cordoned' : 'draining';
    const node = this.fleet.setOperatorState(command.nodeId, state);
    if (node === undefined) return errorReply('UNKNOWN_NODE', `node ${command.nodeId} is not known to this scheduler`);
    this.log.info({ nodeId: command.nodeId, verb }, 'operator command');
    if (verb === 'drain') this.onNodeGone(command.nodeId, 'drained');
    if (verb === 'uncordon') this.onCapacityMayHaveFreed();
    return { v: PROTOCOL_VERSION, ok: true, node: this.view(node) };
  }

  status(request: StatusRequest): StatusReply {
    const nowMs = this.clock();
    const clusters = new Map<string, ClusterView>();
    const liveNodes = new Map<string, number>();
    for (const node of this.fleet.nodes) {
      let cluster = clusters.get(node.cluster);
      if (cluster === undefined) {
        cluster = {
          cluster: node.cluster,
          nodes: 0,
          readyNodes: 0,
          powerDrawWatts: 0,
          powerLimitWatts: 0,
          inFlight: 0,
          queueDepth: 0,
          batchSlots: 0,
          utilization: 0,
        };
        clusters.set(node.cluster, cluster);
      }
      cluster.nodes++;
      if (node.liveness === 'dead') continue;
      if (node.schedulable) cluster.readyNodes++;
      cluster.powerDrawWatts += node.powerDrawWatts;
      cluster.powerLimitWatts += node.powerLimitWatts;
      cluster.inFlight += node.inFlight;
      cluster.queueDepth += node.queueDepth;
      cluster.batchSlots += node.maxBatchSize;
      cluster.utilization += node.utilization;
      liveNodes.set(node.cluster, (liveNodes.get(node.cluster) ?? 0) + 1);
    }
    for (const cluster of clusters.values()) {
      cluster.utilization /= Math.max(1, liveNodes.get(cluster.cluster) ?? 0);
      const state = this.fleet.topology.find(cluster.cluster);
      if (state?.budgeted === true) cluster.power = clusterPowerOf(state);
    }
    const nodes = [...this.fleet.nodes]
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId))
      .slice(0, request.nodeLimit)
      .map((node) => this.view(node, nowMs));
    const reply: StatusReply = {
      v: PROTOCOL_VERSION,
      ok: true,
      schedulerId: this.schedulerId,
      uptimeMs: nowMs - this.startedAtMs,
      totalNodes: this.fleet.size,
      clusters: [...clusters.values()].sort((a, b) => a.cluster.localeCompare(b.cluster)),
      nodes,
      counters: this.counters.snapshot(),
    };
    // One message must hold the reply: list fewer nodes (totalNodes still tells how many) rather than fail.
    let bytes = Buffer.byteLength(JSON.stringify(reply));
    while (bytes > MAX_MESSAGE_BYTES && reply.nodes.length > 0) {
      reply.nodes = reply.nodes.slice(0, Math.floor((reply.nodes.length * MAX_MESSAGE_BYTES * 0.9) / bytes));
      bytes = Buffer.byteLength(JSON.stringify(reply));
    }
    return reply;
  }

  private view(node: NodeRecord, nowMs = this.clock()): NodeView {
    const state: NodeView['state'] =
      node.liveness !== 'alive'
        ? node.liveness
        : node.operatorState === 'cordoned'
          ? 'cordoned'
          : node.operatorState === 'draining' || node.reportedState === 'draining' || node.hostDraining
            ? 'draining'
            : 'ready';
    return {
      nodeId: node.nodeId,
      cluster: node.cluster,
      zone: node.zone,
      profile: node.profileName,
      acceleratorCount: node.hardware.chipCount,
      state,
      models: [...node.models],
      queueDepth: node.queueDepth,
      inFlight: node.inFlight,
      maxBatchSize: node.maxBatchSize,
      utilization: node.utilization,
      assumed: node.reservations.size,
      hbmTotalBytes: node.hbmTotalBytes,
      hbmUsedBytes: node.hbmUsedBytes,
      powerDrawWatts: node.powerDrawWatts,
      powerLimitWatts: node.powerLimitWatts,
      temperatureC: node.temperatureC,
      lastHeartbeatAgeMs: Math.max(0, nowMs - node.lastHeartbeatMs),
      ...(node.telemetry === undefined ? {} : { telemetry: node.telemetry }),
      ...(node.host === undefined ? {} : { host: node.host }),
    };
  }

  private askToRegister(nodeId: string, reason: string): void {
    const nowMs = this.clock();
    const last = this.lastNoticeMs.get(nodeId);
    if (last !== undefined && nowMs - last < NOTICE_INTERVAL_MS) return;
    this.lastNoticeMs.set(nodeId, nowMs);
    // Bounded: entries are removed when the node registers or is forgotten; strays are capped here.
    if (this.lastNoticeMs.size > 100_000) this.lastNoticeMs.clear();
    this.outbox.publish(subjects.notice(nodeId), { v: PROTOCOL_VERSION, action: 'register', reason });
  }
}
