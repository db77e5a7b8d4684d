import type { ModelSpec } from '@switchyard/fleet-model';
import {
  type Assignment,
  type ErrorCode,
  errorReply,
  type InferRequest,
  PROTOCOL_VERSION,
  type WorkResult,
} from '@switchyard/protocol';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { Reservation } from '../core/fleet/node-record.js';
import type { PlacementFramework } from '../core/placement/framework.js';
import { requestKvBytes } from '../core/placement/estimate.js';
import type { PlacementRequest } from '../core/placement/types.js';
import type { RequestLedger, TrackedRequest } from '../core/requests/request-ledger.js';
import { Counters, type Logger, type SchedulerOutbox } from './ports.js';

/** Timing knobs of the inference path. */
export interface InferenceServiceConfig {
  /** How long a node has to acknowledge an assignment before we treat it as lost (default 2 s). */
  readonly assignTimeoutMs: number;
  /** Extra time past a deadline before the scheduler itself answers DEADLINE_EXCEEDED (the node usually does). */
  readonly deadlineGraceMs: number;
  /** Hint sent with NO_CAPACITY. */
  readonly noCapacityRetryAfterMs: number;
}

export const DEFAULT_INFERENCE_CONFIG: InferenceServiceConfig = {
  assignTimeoutMs: 2_000,
  deadlineGraceMs: 500,
  noCapacityRetryAfterMs: 1_000,
};

let requestCounter = 0;

/**
 * Accepts inference requests, places them, and sees each to exactly one final answer from the
 * system's point of view: the node's result, a re-placement after a node was lost, or a typed error.
 */
export class InferenceService {
  /** Until then the fleet view is still being rebuilt (a new term): "no node serves it" is not final. */
  private warmUpUntilMs = Number.NEGATIVE_INFINITY;

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
  ) {}

  /** Declares the fleet view incomplete until `untilMs` (nodes still registering with a new scheduler). */
  warmUpUntil(untilMs: number): void {
    this.warmUpUntilMs = untilMs;
  }

  /** Open requests (accepted, not yet answered). */
  get openRequests(): number {
    return this.ledger.size;
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
      this.answerError(
        [replyTo],
        requestId,
        'UNKNOWN_MODEL',
        `model ${request.model} is not in the scheduler's catalogue`,
      );
      return;
    }
    const tracked = this.ledger.accept(requestId, tenant, request, replyTo, this.clock());
    this.counters.increment('requests.accepted');
    this.place(tracked, model);
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
    if (reservation !== undefined && reservation.nodeId === subjectNodeId) this.fleet.release(result.requestId);
    const tracked = this.ledger.get(result.requestId);
    if (tracked === undefined || tracked.nodeId !== subjectNodeId) {
      // A late result from a node the request was moved away from: the client already has (or will get) its answer.
      this.counters.increment('results.late');
      return;
    }
    this.ledger.finish(result.requestId);
    this.counters.increment(result.ok ? 'requests.completed' : `requests.failed.${result.code ?? 'INTERNAL'}`);
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
      const model = this.models(action.tracked.request.model);
      if (model === undefined) continue;
      this.counters.increment('requests.replaced');
      this.log.warn(
        { requestId: reservation.requestId, nodeId, attempt: action.tracked.attempt + 1 },
        're-placing work from lost node',
      );
      this.place(action.tracked, model);
    }
  }

  /** Backstop: answers requests past their deadline (plus grace) that no node answered. */
  expireOverdue(): void {
    const nowMs = this.clock();
    for (const tracked of this.ledger.expired(nowMs - this.config.deadlineGraceMs)) {
      this.fleet.release(tracked.requestId);
      this.fail(
        tracked,
        'DEADLINE_EXCEEDED',
        `no answer within the deadline (${tracked.deadlineAtMs - tracked.acceptedAtMs} ms)`,
      );
    }
  }

  /** Answers every open request (scheduler shutdown): clients must not be left waiting. */
  failAll(code: ErrorCode, message: string): void {
    for (const tracked of this.ledger.all()) {
      this.fleet.release(tracked.requestId);
      this.fail(tracked, code, message);
    }
  }

  private place(tracked: TrackedRequest, model: ModelSpec): void {
    const nowMs = this.clock();
    tracked.attempt++;
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
          ? this.ledger.remainingMs(tracked, nowMs)
          : undefined,
      excludeNodeIds: tracked.excludedNodeIds,
    };
    const decision = this.placement.place(placementRequest, this.fleet, { nowMs, rng: this.rng });
    if (!decision.ok && decision.code === 'UNKNOWN_MODEL' && nowMs < this.warmUpUntilMs) {
      // A scheduler that just took over has not heard from every node yet: the model may well be served.
      this.counters.increment('placements.NO_CAPACITY');
      this.fail(tracked, 'NO_CAPACITY', `still learning the fleet; no node known yet serves ${model.name}`, 500);
      return;
    }
    if (!decision.ok) {
      this.counters.increment(`placements.${decision.code}`);
      this.fail(
        tracked,
        decision.code,
        decision.message,
        decision.code === 'NO_CAPACITY' ? this.config.noCapacityRetryAfterMs : undefined,
      );
      return;
    }
    this.counters.increment('placements.ok');
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
    const model = this.models(tracked.request.model);
    if (model !== undefined) this.place(action.tracked, model);
  }

  private joinDuplicate(tracked: TrackedRequest, replyTo: string): void {
    if (tracked.replyTo.includes(replyTo)) return;
    tracked.replyTo.push(replyTo);
    if (tracked.nodeId !== undefined) void this.sendAssignment(tracked, tracked.nodeId, replyTo, true);
  }

  private fail(tracked: TrackedRequest, code: ErrorCode, message: string, retryAfterMs?: number): void {
    this.ledger.finish(tracked.requestId);
    this.counters.increment(Counters.rejected(code));
    this.answerError(tracked.replyTo, tracked.requestId, code, message, retryAfterMs);
  }

  private answerError(
    replyTos: readonly string[],
    requestId: string,
    code: ErrorCode,
    message: string,
    retryAfterMs?: number,
  ): void {
    const body = errorReply(code, message, retryAfterMs === undefined ? { requestId } : { requestId, retryAfterMs });
    for (const replyTo of replyTos) this.outbox.publish(replyTo, body);
  }
}
