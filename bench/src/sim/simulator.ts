/**
 * The capacity simulator's engine: a discrete-event simulation in virtual time that drives the
 * scheduler's own placement core (PlacementFramework over a FleetView with its index and topology)
 * and fleet-model's own SimulatedAccelerator per node, the engine the node agents run on real
 * timers. No second implementation of either: the simulator only decides when things happen.
 *
 * Events, in time order: request arrivals; each node's next internal event (prefill done, decode
 * step batch done, model loaded: SimulatedAccelerator.nextEventAtMs); and a heartbeat per node
 * every interval, which is how the scheduler's view learns the node's real state, as live.
 * Placement reserves capacity on the chosen node (FleetView.assume) exactly as the live inference
 * service does, and a completion releases it.
 */
import {
  createRng,
  getModel,
  getProfile,
  MinHeap,
  type ModelSpec,
  SimulatedAccelerator,
  type SimEvent,
} from '@switchyard/fleet-model';
import { PROTOCOL_VERSION, type Heartbeat, type SloClass } from '@switchyard/protocol';
import {
  buildPlacement,
  DEFAULT_PLACEMENT_CONFIG,
  FleetView,
  type PlacementConfig,
  PlacementIndex,
  requestKvBytes,
  Topology,
  type TopologySpec,
} from '@switchyard/scheduler';

/** Nodes of one kind in one cluster. */
export interface SimNodeGroup {
  readonly cluster: string;
  readonly profile: string;
  readonly count: number;
  /** Models resident at start. */
  readonly models: readonly string[];
  readonly chips?: number;
  readonly maxBatchSize?: number;
}

/** What to simulate: a fleet and a request stream (arrival order). */
export interface SimulationInput {
  readonly topology: TopologySpec;
  readonly groups: readonly SimNodeGroup[];
  readonly requests: readonly SimRequest[];
  readonly seed: number;
  readonly placement?: PlacementConfig;
  /** Virtual ms between a node's heartbeats (default 1,000, as live agents). */
  readonly heartbeatIntervalMs?: number;
}

export interface SimRequest {
  readonly arrivalMs: number;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly sloClass: SloClass;
  readonly region?: string;
}

/** One request's fate. */
export interface SimOutcome {
  readonly sloClass: SloClass;
  /** Error code when no node took it (placement or the node refused), else undefined. */
  readonly refused: string | undefined;
  readonly ttftMs: number;
  readonly totalMs: number;
  readonly outputTokens: number;
  readonly energyJoules: number;
}

export interface SimulationResult {
  readonly outcomes: readonly SimOutcome[];
  /** Virtual time the run covered (last event). */
  readonly simulatedMs: number;
  readonly nodes: number;
}

interface SimNode {
  readonly nodeId: string;
  readonly cluster: string;
  readonly zone: string;
  readonly profile: string;
  readonly chips: number;
  readonly accelerator: SimulatedAccelerator;
  seq: number;
  /** Bumped whenever the node's next event is re-queued, so stale heap entries are skipped. */
  version: number;
}

type Event =
  | { readonly kind: 'arrival'; readonly index: number }
  | { readonly kind: 'node'; readonly node: SimNode; readonly version: number }
  | { readonly kind: 'heartbeat'; readonly node: SimNode };

/** A detector that never declares a simulated node dead: every node reports on time. */
const NEVER_SILENT = { suspectAfterMs: 1e15, deadAfterMs: 2e15, forgetAfterMs: 3e15 };

function heartbeatOf(node: SimNode, nowMs: number): Heartbeat {
  const status = node.accelerator.status(nowMs);
  return {
    v: PROTOCOL_VERSION,
    nodeId: node.nodeId,
    incarnation: 'sim',
    seq: ++node.seq,
    sentAtMs: Math.floor(nowMs),
    cluster: node.cluster,
    zone: node.zone,
    state: 'ready',
    accelerator: {
      profile: node.profile,
      count: node.chips,
      hbmTotalBytes: Math.round(status.hbmTotalBytes),
      hbmUsedBytes: Math.round(status.hbmUsedBytes),
    },
    models: status.models,
    queueDepth: status.queueDepth,
    inFlight: status.inFlight,
    maxBatchSize: status.maxBatchSize,
    utilization: status.batchOccupancy,
    powerDrawWatts: status.powerDrawWatts,
    powerLimitWatts: status.powerLimitWatts,
    temperatureC: status.temperatureC,
  };
}

/** Runs the simulation to the last completion. Deterministic for a seed. */
export function simulate(input: SimulationInput): SimulationResult {
  const heartbeatMs = input.heartbeatIntervalMs ?? 1_000;
  const rng = createRng(input.seed);
  const placement = buildPlacement(input.placement ?? DEFAULT_PLACEMENT_CONFIG);
  const fleet = new FleetView(getProfile, NEVER_SILENT, new PlacementIndex(), new Topology(input.topology));
  const events = new MinHeap<Event>();
  const nodes: SimNode[] = [];
  for (const group of input.groups) {
    const profile = getProfile(group.profile);
    if (profile === undefined) throw new RangeError(`unknown accelerator profile ${JSON.stringify(group.profile)}`);
    const chips = group.chips ?? profile.referenceChipsPerNode;
    for (let i = 0; i < group.count; i++) {
      const node: SimNode = {
        nodeId: `${group.cluster}-${group.profile}-${nodes.length}`,
        cluster: group.cluster,
        zone: `${group.cluster}-a`,
        profile: group.profile,
        chips,
        accelerator: new SimulatedAccelerator({
          hardware: { profile, chipCount: chips },
          models: getModel,
          preloadedModels: group.models,
          seed: input.seed * 7919 + nodes.length,
          startMs: 0,
          ...(group.maxBatchSize === undefined ? {} : { maxBatchSize: group.maxBatchSize }),
        }),
        seq: 0,
        version: 0,
      };
      nodes.push(node);
      const registered = fleet.register(
        { ...heartbeatOf(node, 0), agentVersion: 'sim', heartbeatIntervalMs: heartbeatMs },
        0,
      );
      if (!registered.ok) throw new RangeError(`node ${node.nodeId}: ${registered.message}`);
    }
  }
  // Heartbeats spread over the interval, as agents started at different times send them.
  const byId = new Map<string, SimNode>();
  nodes.forEach((node, i) => {
    byId.set(node.nodeId, node);
    events.push((i * heartbeatMs) / nodes.length, { kind: 'heartbeat', node });
  });
  input.requests.forEach((request, index) => events.push(request.arrivalMs, { kind: 'arrival', index }));

  const outcomes: (SimOutcome | undefined)[] = Array.from({ length: input.requests.length }, () => undefined);
  const running = new Map<string, { index: number; arrivalMs: number; node: SimNode }>();
  // Requests without an outcome yet (an object: the handlers below count it down).
  const left = { requests: input.requests.length };
  let nowMs = 0;

  const requeue = (node: SimNode): void => {
    const at = node.accelerator.nextEventAtMs();
    node.version++;
    if (at !== undefined) events.push(at, { kind: 'node', node, version: node.version });
  };
  const handle = (node: SimNode, happened: readonly SimEvent[]): void => {
    for (const event of happened) {
      if (event.kind !== 'completed') continue;
      const job = running.get(event.jobId);
      if (job === undefined) continue;
      running.delete(event.jobId);
      fleet.release(event.jobId);
      const request = input.requests[job.index]!;
      outcomes[job.index] = {
        sloClass: request.sloClass,
        refused: undefined,
        ttftMs: event.timings.ttftMs,
        totalMs: event.timings.totalMs,
        outputTokens: event.outputTokens,
        energyJoules: event.energyJoules,
      };
      left.requests--;
    }
    requeue(node);
  };
  const refuse = (index: number, code: string): void => {
    const request = input.requests[index]!;
    outcomes[index] = {
      sloClass: request.sloClass,
      refused: code,
      ttftMs: 0,
      totalMs: 0,
      outputTokens: 0,
      energyJoules: 0,
    };
    left.requests--;
  };

  while (left.requests > 0) {
    const at = events.peekKey();
    const event = events.pop();
    if (event === undefined || at === undefined) break;
    nowMs = at;
    if (event.kind === 'heartbeat') {
      fleet.applyHeartbeat(heartbeatOf(event.node, nowMs), nowMs);
      events.push(nowMs + heartbeatMs, event);
    } else if (event.kind === 'node') {
      if (event.version === event.node.version) handle(event.node, event.node.accelerator.advance(nowMs));
    } else {
      const request = input.requests[event.index]!;
      const model: ModelSpec | undefined = getModel(request.model);
      if (model === undefined) {
        refuse(event.index, 'UNKNOWN_MODEL');
        continue;
      }
      const requestId = `r${event.index}`;
      const placementRequest = {
        requestId,
        model,
        inputTokens: request.inputTokens,
        maxOutputTokens: Math.max(1, request.outputTokens),
        priority: 'normal' as const,
        sloClass: request.sloClass,
        region: request.region,
      };
      const decision = placement.place(placementRequest, fleet, { nowMs, rng });
      if (!decision.ok) {
        refuse(event.index, decision.code);
        continue;
      }
      const node = byId.get(decision.node.nodeId)!;
      // Bring the node's engine to now before it takes the job (events due now happen first).
      handle(node, node.accelerator.advance(nowMs));
      const submitted = node.accelerator.submit(
        {
          id: requestId,
          model: model.name,
          inputTokens: request.inputTokens,
          maxOutputTokens: placementRequest.maxOutputTokens,
        },
        nowMs,
      );
      if (!submitted.ok) {
        refuse(event.index, submitted.code);
        continue;
      }
      fleet.assume({
        requestId,
        nodeId: node.nodeId,
        model: model.name,
        kvBytes: requestKvBytes(placementRequest),
        predictedServiceMs: decision.estimate.totalMs - decision.estimate.queueWaitMs - decision.estimate.networkMs,
        powerDeltaWatts: decision.estimate.powerDeltaWatts,
        sloClass: request.sloClass,
        assumedAtMs: nowMs,
        confirmedAtMs: undefined,
      });
      running.set(requestId, { index: event.index, arrivalMs: nowMs, node });
      requeue(node);
    }
  }
  const decided = outcomes.filter((outcome): outcome is SimOutcome => outcome !== undefined);
  // Every node's engine drains, so every accepted request completes; anything else is a bug here.
  if (decided.length !== outcomes.length) {
    throw new Error(`simulation ended with ${outcomes.length - decided.length} requests without an outcome`);
  }
  return { outcomes: decided, simulatedMs: nowMs, nodes: nodes.length };
}
