import { DEFAULT_TENANT_LIMITS, TenantQuotas } from '../core/admission/tenant-quotas.js';
import type { ModelSpec } from '@switchyard/fleet-model';
import {
  type Assignment,
  decode,
  type ErrorCode,
  errorReply,
  InferRequest,
  PROTOCOL_VERSION,
  SLO_CLASSES,
  type SloClass,
  type WorkResult,
} from '@switchyard/protocol';
import { judgeFeasibility } from '../core/admission/feasibility.js';
import { ServingShapes } from '../core/admission/serving-shapes.js';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { Reservation } from '../core/fleet/node-record.js';
import type { PlacementFramework } from '../core/placement/framework.js';
import { requestKvBytes } from '../core/placement/estimate.js';
import type { PlacementRequest } from '../core/placement/types.js';
import type { RequestLedger, TrackedRequest } from '../core/requests/request-ledger.js';
import type { AdmissionEntry, AttemptOutcome, ClassQueueStats } from './admission/admission-lane.js';
import { AdmissionQueues } from './admission/admission-queues.js';
import { DEFAULT_INFERENCE_CONFIG, type InferenceServiceConfig, validateInferenceConfig } from './inference-config.js';
import { Counters, type Logger, type SchedulerOutbox } from './ports.js';

export {
  DEFAULT_INFERENCE_CONFIG,
  InferenceConfigError,
  type InferenceServiceConfig,
  validateInferenceConfig,
} from './inference-config.js';

let requestCounter = 0;

/**
 * Accepts inference requests, refuses what can never be served, admits the rest through per-class
 * queues (admission-queues.ts), places them, and sees each to exactly one final answer from the
 * system's point of view: the node's result, a re-placement after a node was lost, or a typed error.
 */
export class InferenceService {
  /** Until then the fleet view is still being rebuilt (a new term): "no node serves it" is not final. */
  private warmUpUntilMs = Number.NEGATIVE_INFINITY;
  /** Whether the last tick found the fleet view still warming up: the first tick after it retries waiting work. */
  private warmingAtLastTick = false;
  private readonly admission: AdmissionQueues;
  private readonly shapes: ServingShapes;

  constructor(
    private readonly schedulerId: string,
    private readonly fleet: FleetView,
    private readonly ledger: RequestLedger,
    private readonly placement: PlacementFramework,
    private readonly models: (name: string) => ModelSpec | undefined,
    private readonly outbox: SchedulerOutbox,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly rng: () => number,
    private readonly config: InferenceServiceConfig = DEFAULT_INFERENCE_CONFIG,
    private readonly quotas: TenantQuotas = new TenantQuotas({ defaults: DEFAULT_TENANT_LIMITS }, clock),
  ) {
    const admission = validateInferenceConfig(config);
    this.admission = new AdmissionQueues(
      admission,
      {
        attempt: (entry) => this.attempt(entry),
        refuse: (entry, code, message, retryAfterMs) => {
          this.counters.increment(`admission.rejected.${code}`);
          this.fail(entry.tracked, code, message, retryAfterMs);
        },
      },
      counters,
      clock,
      config.noCapacityRetryAfterMs,
    );
    this.shapes = new ServingShapes(fleet, admission.boundsRefreshMs);
  }

  /** Declares the fleet view incomplete until `untilMs` (nodes still registering with a new scheduler). */
  warmUpUntil(untilMs: number): void {
    this.warmUpUntilMs = untilMs;
    this.warmingAtLastTick = this.clock() < untilMs;
  }

  /** Open requests (accepted, not yet answered), waiting ones included. */
  get openRequests(): number {
    return this.ledger.size;
  }

  /** Requests of `sloClass` waiting for a slot or for room. */
  queueDepth(sloClass: SloClass): number {
    return this.admission.depth(sloClass);
  }

  /** Figures of every class queue (depth, waits, drain rate), for metrics. */
  admissionStats(): Record<SloClass, ClassQueueStats> {
    const stats = {} as Record<SloClass, ClassQueueStats>;
    for (const sloClass of SLO_CLASSES) stats[sloClass] = this.admission.stats(sloClass);
    return stats;
  }

  /**
   * Room may have appeared on some node: the fleet service calls this on every applied heartbeat,
   * registration, uncordon and budget change (work results are handled here). Cheap when nothing
   * waits, paced when many signals come at once.
   */
  capacityMayHaveFreed(): void {
    this.admission.capacityMayHaveFreed();
  }

  /** Handles a raw InferRequest body: malformed input is answered with its typed error, the rest is submitted. */
  submitMessage(tenant: string, data: Uint8Array, replyTo: string): void {
    const decoded = decode(InferRequest, data);
    if (!decoded.ok) {
      this.counters.increment(`invalid.${decoded.error.code}`);
      this.refuse([replyTo], undefined, decoded.error.code, decoded.error.message);
      return;
    }
    this.submit(tenant, decoded.value, replyTo);
  }

  /** Handles a decoded InferRequest that arrived on the tenant's subject with reply subject `replyTo`. */
  submit(tenant: string, request: InferRequest, replyTo: string): void {
    // Keys are scoped by tenant: the same key from two tenants names two requests, never one shared answer.
    const requestId =
      request.idempotencyKey === undefined
        ? `${this.schedulerId}-${(++requestCounter).toString(36)}`
        : `${tenant}:${request.idempotencyKey}`;
    const existing = this.ledger.get(requestId);
    if (existing !== undefined) {
      this.counters.increment('requests.duplicate');
      this.joinDuplicate(existing, replyTo);
      return;
    }
    this.counters.increment('requests.received');
    const model = this.models(request.model);
    if (model === undefined) {
      this.refuse(
        [replyTo],
        requestId,
        'UNKNOWN_MODEL',
        `model ${request.model} is not in the scheduler's catalogue`,
        undefined,
        request.sloClass,
      );
      return;
    }
    const { topology } = this.fleet;
    if (request.region !== undefined && !topology.hasRegion(request.region)) {
      const known = topology.regionNames;
      const listed = known.length === 0 ? 'no regions are configured' : `known: ${known.slice(0, 20).join(', ')}`;
      this.refuse(
        [replyTo],
        requestId,
        'UNKNOWN_REGION',
        `region ${request.region} is not in the topology (${listed})`,
        undefined,
        request.sloClass,
      );
      return;
    }
    const quota = this.quotas.judgeRequest(
      tenant,
      this.ledger.openFor(tenant),
      request.inputTokens + request.maxOutputTokens,
    );
    if (!quota.ok) {
      this.refuse(
        [replyTo],
        requestId,
        quota.code,
        quota.message,
        quota.retryAfterMs,
        request.sloClass,
        quota.retryable,
      );
      return;
    }
    const nowMs = this.clock();
    const tracked = this.ledger.accept(requestId, tenant, request, replyTo, nowMs);
    const deadlineAfterMs = tracked.deadlineAtMs - nowMs;
    let fastestMs = 0;
    // While the fleet is still being learned a bigger or faster node may not have reported yet.
    if (nowMs >= this.warmUpUntilMs) {
      const shapes = this.shapes.forRequest(model, request.region, nowMs);
      const demand = { inputTokens: request.inputTokens, maxOutputTokens: request.maxOutputTokens, deadlineAfterMs };
      const feasibility = judgeFeasibility(model, demand, shapes);
      if (!feasibility.ok) {
        this.ledger.finish(requestId);
        const defaulted = request.deadlineAfterMs === undefined && feasibility.code === 'DEADLINE_UNREACHABLE';
        const message = defaulted
          ? `${feasibility.message}; the request set no deadline, so the scheduler's default applies`
          : feasibility.message;
        this.refuse([replyTo], requestId, feasibility.code, message, undefined, request.sloClass);
        return;
      }
      fastestMs = feasibility.fastestMs ?? 0;
    }
    const saturation = this.admission.judge(tenant, request.sloClass, model.name, deadlineAfterMs);
    if (!saturation.ok) {
      this.ledger.finish(requestId);
      this.refuse([replyTo], requestId, 'OVERLOADED', saturation.message, saturation.retryAfterMs, request.sloClass);
      return;
    }
    this.counters.increment('requests.accepted');
    this.counters.increment(`requests.admitted.${request.sloClass}`);
    this.admission.admit(tracked, model, fastestMs);
  }

  /** A node reports work finished: release its capacity and close the request. */
  workResult(subjectNodeId: string, result: WorkResult): void {
    if (result.nodeId !== subjectNodeId) {
      this.counters.increment('dropped.identity-mismatch');
      this.log.warn(
        { nodeId: subjectNodeId, bodyNodeId: result.nodeId },
        'work result dropped: body and subject disagree',
      );
      return;
    }
    const reservation = this.fleet.reservation(result.requestId);
    const released = reservation !== undefined && reservation.nodeId === subjectNodeId;
    if (released) this.fleet.release(result.requestId);
    const tracked = this.ledger.get(result.requestId);
    if (tracked === undefined || tracked.nodeId !== subjectNodeId) {
      // A late result from a node the request was moved away from: the client already has (or will get) its answer.
      this.counters.increment('results.late');
    } else {
      this.ledger.finish(result.requestId);
      this.admission.finished(result.requestId);
      this.counters.increment(result.ok ? 'requests.completed' : `requests.failed.${result.code ?? 'INTERNAL'}`);
      this.counters.increment(
        `requests.finished.${tracked.request.sloClass}.${result.ok ? 'ok' : (result.code ?? 'INTERNAL')}`,
      );
    }
    if (released) this.capacityMayHaveFreed();
  }

  /** Work stranded on a node that died, restarted or left: re-place it or fail it visibly. */
  nodeLost(nodeId: string, lost: readonly Reservation[]): void {
    const nowMs = this.clock();
    for (const reservation of lost) {
      const action = this.ledger.onNodeLost(reservation.requestId, nodeId, nowMs);
      if (action === undefined) continue;
      if (action.kind === 'fail') {
        this.fail(action.tracked, action.code, action.message);
        continue;
      }
      this.counters.increment('requests.replaced');
      this.log.warn(
        { requestId: reservation.requestId, nodeId, attempt: action.tracked.attempt + 1 },
        're-placing work from lost node',
      );
      this.replace(action.tracked);
    }
  }

  /**
   * Periodic duty (the sweep): answers waiting requests that ran out of time or waited long
   * enough, retries waiting work once the fleet view is complete, and is the backstop for placed
   * requests past their deadline (plus grace) that no node answered.
   */
  expireOverdue(): void {
    const nowMs = this.clock();
    const warmedUp = this.warmingAtLastTick && nowMs >= this.warmUpUntilMs;
    this.warmingAtLastTick = nowMs < this.warmUpUntilMs;
    this.admission.tick(warmedUp);
    let released = false;
    for (const tracked of this.ledger.expired(nowMs - this.config.deadlineGraceMs)) {
      released = this.fleet.release(tracked.requestId) !== undefined || released;
      this.fail(
        tracked,
        'DEADLINE_EXCEEDED',
        `no answer within the deadline (${tracked.deadlineAtMs - tracked.acceptedAtMs} ms)`,
      );
    }
    if (released) this.capacityMayHaveFreed();
  }

  /** Answers every open request, waiting ones included (scheduler shutdown): clients must not be left waiting. */
  failAll(code: ErrorCode, message: string): void {
    for (const tracked of this.ledger.all()) {
      this.fleet.release(tracked.requestId);
      this.fail(tracked, code, message);
    }
  }

  /**
   * Answers the requests no node holds yet (queued or waiting for room) when this scheduler stops
   * serving: nobody else knows them. Placed ones are left alone: their node answers the client.
   */
  failUnplaced(code: ErrorCode, message: string): void {
    for (const tracked of this.ledger.all()) {
      if (tracked.nodeId !== undefined) continue;
      this.fail(tracked, code, message, 250);
    }
  }

  /** Places a request that lost its node again, through admission (it keeps its slot; without room it waits). */
  private replace(tracked: TrackedRequest): void {
    if (!this.admission.replace(tracked.requestId)) {
      this.fail(tracked, 'NODE_LOST', 'the request lost its node and is no longer held by admission');
    }
  }

  /**
   * One placement attempt for an admitted request (called by admission): assigns it, reports that
   * nothing has room now (it waits), or answers it with the error that ends it.
   */
  private attempt(entry: AdmissionEntry): AttemptOutcome {
    const { tracked, model } = entry;
    if (this.ledger.get(tracked.requestId) !== tracked) return { kind: 'answered' };
    const nowMs = this.clock();
    const remainingMs = this.ledger.remainingMs(tracked, nowMs);
    if (remainingMs <= 0) {
      this.fail(tracked, 'DEADLINE_EXCEEDED', 'the deadline passed before the request could be placed');
      return { kind: 'answered' };
    }
    if (remainingMs < entry.fastestMs) {
      this.fail(
        tracked,
        'DEADLINE_EXCEEDED',
        `${Math.round(remainingMs)} ms of the deadline left; the fastest node needs ${Math.ceil(entry.fastestMs)} ms`,
      );
      return { kind: 'answered' };
    }
    const placementRequest: PlacementRequest = {
      requestId: tracked.requestId,
      model,
      inputTokens: tracked.request.inputTokens,
      maxOutputTokens: tracked.request.maxOutputTokens,
      priority: tracked.request.priority,
      sloClass: tracked.request.sloClass,
      region: tracked.request.region,
      // Work with a deadline must finish within what is left of it; interactive work is judged on TTFT.
      targetMs:
        tracked.request.sloClass !== 'interactive' && tracked.request.deadlineAfterMs !== undefined
          ? remainingMs
          : undefined,
      excludeNodeIds: tracked.excludedNodeIds,
    };
    const decision = this.placement.place(placementRequest, this.fleet, { nowMs, rng: this.rng });
    if (!decision.ok && decision.code === 'UNKNOWN_MODEL' && nowMs < this.warmUpUntilMs) {
      // A scheduler that just took over has not heard from every node yet: the model may well be served.
      this.counters.increment('placements.NO_CAPACITY');
      return {
        kind: 'no-capacity',
        message: `still learning the fleet; no node known yet serves ${model.name}`,
        blocksModel: true,
      };
    }
    if (!decision.ok) {
      this.counters.increment(`placements.${decision.code}`);
      if (decision.code === 'NO_CAPACITY') {
        return { kind: 'no-capacity', message: decision.message, blocksModel: tracked.excludedNodeIds.size === 0 };
      }
      this.fail(tracked, decision.code, decision.message);
      return { kind: 'answered' };
    }
    this.counters.increment('placements.ok');
    tracked.attempt++;
    const node = decision.node;
    this.fleet.assume({
      requestId: tracked.requestId,
      nodeId: node.nodeId,
      model: model.name,
      kvBytes: requestKvBytes(placementRequest),
      predictedServiceMs: decision.estimate.totalMs - decision.estimate.queueWaitMs - decision.estimate.networkMs,
      powerDeltaWatts: decision.estimate.powerDeltaWatts,
      sloClass: tracked.request.sloClass,
      assumedAtMs: nowMs,
      confirmedAtMs: undefined,
    });
    tracked.nodeId = node.nodeId;
    const [primaryReplyTo, ...extraReplyTos] = tracked.replyTo;
    void this.sendAssignment(tracked, node.nodeId, primaryReplyTo ?? '', false);
    // Retries that joined before placement: the node merges them into the same job.
    for (const replyTo of extraReplyTos) void this.sendAssignment(tracked, node.nodeId, replyTo, true);
    return { kind: 'placed' };
  }

  private assignmentFor(tracked: TrackedRequest, replyTo: string): Assignment {
    const { request } = tracked;
    const assignment: Assignment = {
      v: PROTOCOL_VERSION,
      requestId: tracked.requestId,
      attempt: tracked.attempt,
      tenant: tracked.tenant,
      model: request.model,
      inputTokens: request.inputTokens,
      maxOutputTokens: request.maxOutputTokens,
      priority: request.priority,
      sloClass: request.sloClass,
      deadlineAfterMs: this.ledger.remainingMs(tracked, this.clock()),
      replyTo,
    };
    if (request.prompt !== undefined) assignment.prompt = request.prompt;
    if (request.stream === true) assignment.stream = true;
    return assignment;
  }

  /**
   * Sends one assignment and acts on the answer. A `join` only adds a reply subject to work the node
   * already holds: its failure must not release or move that work (the primary assignment decides).
   */
  private async sendAssignment(tracked: TrackedRequest, nodeId: string, replyTo: string, join: boolean): Promise<void> {
    const attempt = tracked.attempt;
    const reply = await this.outbox.assign(nodeId, this.assignmentFor(tracked, replyTo), this.config.assignTimeoutMs);
    // The request may have moved on while we waited (finished, lost, re-placed): only act on the current attempt.
    if (this.ledger.get(tracked.requestId) !== tracked || tracked.attempt !== attempt || tracked.nodeId !== nodeId)
      return;
    if (reply.ok) {
      this.fleet.confirm(tracked.requestId, this.clock());
      return;
    }
    if (join) {
      this.counters.increment('assignments.join-failed');
      this.log.warn(
        { requestId: tracked.requestId, nodeId },
        'a retry could not join the running work; it will get no answer of its own',
      );
      return;
    }
    this.fleet.release(tracked.requestId);
    if (!('error' in reply) && reply.transport === 'no-responders' && this.fleet.markSuspect(nodeId)) {
      this.counters.increment('nodes.suspected');
      this.log.warn({ nodeId }, 'node suspect: nobody listens on its assignment subject');
    }
    const reason =
      'error' in reply ? `${reply.error.code}: ${reply.error.message}` : `${reply.transport}: ${reply.message}`;
    this.counters.increment('assignments.refused');
    this.log.warn({ requestId: tracked.requestId, nodeId, attempt, reason }, 'assignment not accepted');
    const action = this.ledger.onNodeLost(tracked.requestId, nodeId, this.clock());
    if (action === undefined) return;
    if (action.kind === 'fail') {
      const code = 'error' in reply ? reply.error.code : action.code;
      this.fail(action.tracked, code, `${action.message}; last refusal: ${reason}`);
      return;
    }
    this.replace(action.tracked);
  }

  private joinDuplicate(tracked: TrackedRequest, replyTo: string): void {
    if (tracked.replyTo.includes(replyTo)) return;
    tracked.replyTo.push(replyTo);
    if (tracked.nodeId !== undefined) void this.sendAssignment(tracked, tracked.nodeId, replyTo, true);
  }

  /** Ends an accepted request with an error: out of the ledger and admission, every joined client answered. */
  private fail(tracked: TrackedRequest, code: ErrorCode, message: string, retryAfterMs?: number): void {
    this.ledger.finish(tracked.requestId);
    this.admission.finished(tracked.requestId);
    this.counters.increment(Counters.rejected(code));
    this.counters.increment(`requests.finished.${tracked.request.sloClass}.${code}`);
    this.answerError(tracked.replyTo, tracked.requestId, code, message, retryAfterMs);
  }

  /** Refuses a request at the door (never accepted): bad input, unknown model or region, saturation. */
  private refuse(
    replyTos: readonly string[],
    requestId: string | undefined,
    code: ErrorCode,
    message: string,
    retryAfterMs?: number,
    sloClass: SloClass | 'unknown' = 'unknown',
    /** Overrides the code's usual retryability (a quota that frees up as requests finish). */
    retryable?: boolean,
  ): void {
    this.counters.increment(`admission.rejected.${code}`);
    this.counters.increment(`requests.rejected.${sloClass}.${code}`);
    this.counters.increment(Counters.rejected(code));
    this.answerError(replyTos, requestId, code, message, retryAfterMs, retryable);
  }

  private answerError(
    replyTos: readonly string[],
    requestId: string | undefined,
    code: ErrorCode,
    message: string,
    retryAfterMs?: number,
    retryable?: boolean,
  ): void {
    const extra: { requestId?: string; retryAfterMs?: number; retryable?: boolean } = {};
    if (requestId !== undefined) extra.requestId = requestId;
    if (retryAfterMs !== undefined) extra.retryAfterMs = retryAfterMs;
    if (retryable !== undefined) extra.retryable = retryable;
    const body = errorReply(code, message, extra);
    for (const replyTo of replyTos) this.outbox.publish(replyTo, body);
  }
}
