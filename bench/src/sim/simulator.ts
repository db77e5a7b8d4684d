/**
 * The capacity simulator's engine: a discrete-event simulation in virtual time that drives the
 * scheduler's own placement core (PlacementFramework over a FleetView with its index and topology),
 * its own power controller (PowerService, ticking once a virtual second) and fleet-model's own
 * SimulatedAccelerator per node, the engine the node agents run on real timers. No second
 * implementation of any of them: the simulator only decides when things happen.
 *
 * Events, in time order: request arrivals; each node's next internal event (prefill done, decode
 * step batch done, model loaded: SimulatedAccelerator.nextEventAtMs); a heartbeat per node every
 * interval, which is how the scheduler's view learns the node's real state, as live; a control tick
 * per interval (the power controller); and retries of waiting requests. Placement reserves capacity
 * on the chosen node (FleetView.assume) exactly as the live inference service does, and a completion
 * releases it.
 *
 * Waiting mirrors live admission: a request nothing has room for waits in its class's queue (FIFO
 * per class and model, the live queue limits and waits), is retried at most every
 * minRetryIntervalMs while capacity may have freed, and is refused NO_CAPACITY when its wait runs
 * out (OVERLOADED when the queue is full). Batch work waits until its deadline instead, as the live
 * batch service's durable queue does; that is how batch deferral under a power cap plays out.
 */
import {
  createRng,
  FifoQueue,
  getModel,
  getProfile,
  MinHeap,
  type ModelSpec,
  SimulatedAccelerator,
  type SimEvent,
} from '@switchyard/fleet-model';
import type { SloClass } from '@switchyard/protocol';
import {
  buildPlacement,
  Counters,
  DEFAULT_ADMISSION_CONFIG,
  DEFAULT_PLACEMENT_CONFIG,
  FleetView,
  PlacementIndex,
  PowerService,
  requestKvBytes,
  Topology,
} from '@switchyard/scheduler';
import { heartbeatOf, NEVER_SILENT, QUIET_LOG, type SimNode, simOutbox } from './sim-node.js';
import { SeriesRecorder } from './sim-series.js';
import type { BudgetChange, SimOutcome, SimRequest, SimulationInput, SimulationResult } from './sim-types.js';

export type * from './sim-types.js';

interface Running {
  readonly index: number;
  readonly waitedMs: number;
  readonly networkMs: number;
  readonly cluster: string;
}

type Event =
  | { readonly kind: 'arrival'; readonly index: number }
  | { readonly kind: 'node'; readonly node: SimNode; readonly version: number }
  | { readonly kind: 'heartbeat'; readonly node: SimNode }
  | { readonly kind: 'control' }
  | { readonly kind: 'retry' }
  | { readonly kind: 'budget'; readonly change: BudgetChange };

const CLASS_ORDER: readonly SloClass[] = ['interactive', 'standard', 'batch'];

/** Runs the simulation to the last outcome. Deterministic for a seed. */
export function simulate(input: SimulationInput): SimulationResult {
  const heartbeatMs = input.heartbeatIntervalMs ?? 1_000;
  const retryMs = DEFAULT_ADMISSION_CONFIG.minRetryIntervalMs;
  const rng = createRng(input.seed);
  const placement = buildPlacement(input.placement ?? DEFAULT_PLACEMENT_CONFIG);
  const fleet = new FleetView(getProfile, NEVER_SILENT, new PlacementIndex(), new Topology(input.topology));
  const events = new MinHeap<Event>();
  const nodes: SimNode[] = [];
  const byId = new Map<string, SimNode>();
  let nowMs = 0;
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
        lastBusyMs: 0,
      };
      nodes.push(node);
      byId.set(node.nodeId, node);
      const registered = fleet.register(
        { ...heartbeatOf(node, 0), agentVersion: 'sim', heartbeatIntervalMs: heartbeatMs },
        0,
      );
      if (!registered.ok) throw new RangeError(`node ${node.nodeId}: ${registered.message}`);
    }
  }
  const limitChanges = { count: 0 };
  const power =
    input.powerControl === false
      ? undefined
      : new PowerService(
          fleet,
          simOutbox(byId, () => nowMs, limitChanges),
          new Counters(),
          QUIET_LOG,
          () => nowMs,
        );
  const series = new SeriesRecorder(
    heartbeatMs,
    [...fleet.topology.all()].map((c) => ({
      name: c.name,
      budgetWatts: c.budgeted ? c.budgetWatts : 0,
      nodes: nodes.filter((n) => n.cluster === c.name).length,
    })),
  );
  // Heartbeats spread over the interval, as agents started at different times send them.
  nodes.forEach((node, i) => events.push((i * heartbeatMs) / nodes.length, { kind: 'heartbeat', node }));
  events.push(heartbeatMs, { kind: 'control' });
  for (const change of input.budgetChanges ?? []) events.push(change.atMs, { kind: 'budget', change });
  input.requests.forEach((request, index) => events.push(request.arrivalMs, { kind: 'arrival', index }));

  const total = input.requests.length;
  const outcomes: (SimOutcome | undefined)[] = Array.from({ length: total }, () => undefined);
  const running = new Map<string, Running>();
  const waiting = new Map<string, FifoQueue<number>>();
  const waitingOrder: { readonly queue: FifoQueue<number>; readonly sloClass: SloClass }[] = [];
  const left = { requests: total, waiting: 0, retryScheduled: false };
  const progressEvery = Math.max(1, Math.floor(total / 200));

  const decided = (): void => {
    left.requests--;
    if (input.onProgress !== undefined && (total - left.requests) % progressEvery === 0) {
      input.onProgress(total - left.requests, total);
    }
  };
  const requeue = (node: SimNode): void => {
    const at = node.accelerator.nextEventAtMs();
    node.version++;
    if (at !== undefined) events.push(at, { kind: 'node', node, version: node.version });
  };
  const scheduleRetry = (): void => {
    if (left.waiting === 0 || left.retryScheduled) return;
    left.retryScheduled = true;
    events.push(nowMs + retryMs, { kind: 'retry' });
  };
  const handle = (node: SimNode, happened: readonly SimEvent[]): void => {
    for (const event of happened) {
      if (event.kind !== 'completed') continue;
      const job = running.get(event.jobId);
      if (job === undefined) continue;
      running.delete(event.jobId);
      fleet.release(event.jobId);
      const request = input.requests[job.index]!;
      const lead = job.waitedMs + job.networkMs;
      outcomes[job.index] = {
        sloClass: request.sloClass,
        refused: undefined,
        ttftMs: lead + event.timings.ttftMs,
        totalMs: lead + event.timings.totalMs,
        waitedMs: job.waitedMs,
        outputTokens: event.outputTokens,
        energyJoules: event.energyJoules,
        cluster: job.cluster,
      };
      decided();
      scheduleRetry();
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
      waitedMs: nowMs - request.arrivalMs,
      outputTokens: 0,
      energyJoules: 0,
      cluster: undefined,
    };
    decided();
  };
  const maxWaitMs = (sloClass: SloClass): number =>
    sloClass === 'batch' ? (input.batchMaxWaitMs ?? 3_600_000) : DEFAULT_ADMISSION_CONFIG.classes[sloClass].maxWaitMs;

  /** One placement attempt: placed, refused for good, or NO_CAPACITY (the caller decides whether to wait). */
  const attempt = (index: number): 'placed' | 'refused' | 'no-capacity' => {
    const request = input.requests[index]!;
    const model: ModelSpec | undefined = getModel(request.model);
    if (model === undefined) {
      refuse(index, 'UNKNOWN_MODEL');
      return 'refused';
    }
    const requestId = `r${index}`;
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
      if (decision.code === 'NO_CAPACITY') return 'no-capacity';
      refuse(index, decision.code);
      return 'refused';
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
      refuse(index, submitted.code);
      return 'refused';
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
    running.set(requestId, {
      index,
      waitedMs: nowMs - request.arrivalMs,
      networkMs: decision.estimate.networkMs,
      cluster: node.cluster,
    });
    requeue(node);
    return 'placed';
  };
  const queueFor = (request: SimRequest): FifoQueue<number> => {
    const key = `${request.sloClass}/${request.model}`;
    let queue = waiting.get(key);
    if (queue === undefined) {
      queue = new FifoQueue<number>();
      waiting.set(key, queue);
      waitingOrder.push({ queue, sloClass: request.sloClass });
      waitingOrder.sort((a, b) => CLASS_ORDER.indexOf(a.sloClass) - CLASS_ORDER.indexOf(b.sloClass));
    }
    return queue;
  };
  /** Retries every queue's head in class order until it finds no room; expired heads are refused. */
  const retryWaiting = (): void => {
    for (const { queue, sloClass } of waitingOrder) {
      for (let index = queue.peek(); index !== undefined; index = queue.peek()) {
        const expired = nowMs - input.requests[index]!.arrivalMs >= maxWaitMs(sloClass);
        if (!expired && attempt(index) === 'no-capacity') break;
        queue.shift();
        left.waiting--;
        if (expired) refuse(index, 'NO_CAPACITY');
      }
    }
  };

  while (left.requests > 0) {
    const at = events.peekKey();
    const event = events.pop();
    if (event === undefined || at === undefined) break;
    nowMs = at;
    switch (event.kind) {
      case 'heartbeat': {
        const { node } = event;
        const beat = heartbeatOf(node, nowMs);
        fleet.applyHeartbeat(beat, nowMs);
        const busyMs = node.accelerator.status(nowMs).busyMs;
        series.record(node.cluster, nowMs, beat.powerDrawWatts, (busyMs - node.lastBusyMs) / heartbeatMs);
        node.lastBusyMs = busyMs;
        events.push(nowMs + heartbeatMs, event);
        break;
      }
      case 'budget':
        // As the live admin command does: the cluster's stage follows from the new budget at once.
        fleet.topology.setBudget(event.change.cluster, event.change.budgetWatts);
        series.budgetChanged(event.change.cluster, event.change.budgetWatts);
        break;
      case 'control':
        power?.tick();
        // Heartbeats change what placement sees (stages, loads): waiting work gets another look.
        if (left.waiting > 0) retryWaiting();
        events.push(nowMs + heartbeatMs, event);
        break;
      case 'retry':
        left.retryScheduled = false;
        retryWaiting();
        break;
      case 'node':
        if (event.version === event.node.version) handle(event.node, event.node.accelerator.advance(nowMs));
        break;
      case 'arrival': {
        const request = input.requests[event.index]!;
        const queue = queueFor(request);
        // Arrivals join behind requests already waiting for the same thing.
        if (queue.length > 0 || attempt(event.index) === 'no-capacity') {
          const limit =
            request.sloClass === 'batch' ? Infinity : DEFAULT_ADMISSION_CONFIG.classes[request.sloClass].maxQueued;
          if (queue.length >= limit) {
            refuse(event.index, 'OVERLOADED');
          } else {
            queue.push(event.index);
            left.waiting++;
            scheduleRetry();
          }
        }
        break;
      }
    }
  }
  const done = outcomes.filter((outcome): outcome is SimOutcome => outcome !== undefined);
  // Every node's engine drains and every wait runs out, so every request ends; anything else is a bug here.
  if (done.length !== outcomes.length) {
    throw new Error(`simulation ended with ${outcomes.length - done.length} requests without an outcome`);
  }
  return {
    outcomes: done,
    simulatedMs: nowMs,
    nodes: nodes.length,
    series: series.finish(nowMs),
    powerLimitChanges: limitChanges.count,
  };
}
