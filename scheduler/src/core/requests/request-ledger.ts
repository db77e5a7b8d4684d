import type { ErrorCode, InferRequest } from '@switchyard/protocol';

/** An accepted request, from acceptance until the system has given its one final answer. */
export interface TrackedRequest {
  readonly requestId: string;
  readonly tenant: string;
  readonly request: InferRequest;
  /** Reply subjects to answer; more than one when a client retried with the same idempotency key. */
  readonly replyTo: string[];
  readonly acceptedAtMs: number;
  readonly deadlineAtMs: number;
  attempt: number;
  /** Node the current attempt is on, once placed. */
  nodeId: string | undefined;
  /** Nodes earlier attempts were lost on; placement avoids them. */
  readonly excludedNodeIds: Set<string>;
}

/** What to do with a request whose node was lost. */
export type LostWorkAction =
  | { readonly kind: 'replace'; readonly tracked: TrackedRequest }
  | { readonly kind: 'fail'; readonly tracked: TrackedRequest; readonly code: ErrorCode; readonly message: string };

/** Limits on re-placement. */
export interface RequestLedgerConfig {
  /** Placements per request, first included (default 3). */
  readonly maxAttempts: number;
  /** Deadline given to requests that bring none (default 5 minutes): every request ends. */
  readonly defaultDeadlineMs: number;
}

export const DEFAULT_REQUEST_LEDGER: RequestLedgerConfig = { maxAttempts: 3, defaultDeadlineMs: 5 * 60_000 };

/**
 * Every request the scheduler accepted and has not seen end. It is the scheduler's promise that
 * accepted work completes or fails visibly: lost work is re-placed or answered with a typed
 * error, and anything still open at its deadline is answered DEADLINE_EXCEEDED.
 */
export class RequestLedger {
  private readonly open = new Map<string, TrackedRequest>();
  /** Open requests per tenant, for the tenant's concurrency quota. */
  private readonly openByTenant = new Map<string, number>();

  constructor(private readonly config: RequestLedgerConfig = DEFAULT_REQUEST_LEDGER) {}

  get size(): number {
    return this.open.size;
  }

  /** Requests of `tenant` accepted and not yet finished. */
  openFor(tenant: string): number {
    return this.openByTenant.get(tenant) ?? 0;
  }

  get(requestId: string): TrackedRequest | undefined {
    return this.open.get(requestId);
  }

  /** Tracks a new request. The caller has checked that `requestId` is not already open. */
  accept(requestId: string, tenant: string, request: InferRequest, replyTo: string, nowMs: number): TrackedRequest {
    const tracked: TrackedRequest = {
      requestId,
      tenant,
      request,
      replyTo: [replyTo],
      acceptedAtMs: nowMs,
      deadlineAtMs: nowMs + (request.deadlineAfterMs ?? this.config.defaultDeadlineMs),
      attempt: 0,
      nodeId: undefined,
      excludedNodeIds: new Set(),
    };
    this.open.set(requestId, tracked);
    this.openByTenant.set(tenant, (this.openByTenant.get(tenant) ?? 0) + 1);
    return tracked;
  }

  /** Remaining time budget of a request, never negative. */
  remainingMs(tracked: TrackedRequest, nowMs: number): number {
    return Math.max(0, tracked.deadlineAtMs - nowMs);
  }

  /** Ends a request (answered or failed). Returns it, or undefined if it had already ended. */
  finish(requestId: string): TrackedRequest | undefined {
    const tracked = this.open.get(requestId);
    if (tracked !== undefined) {
      this.open.delete(requestId);
      const left = (this.openByTenant.get(tracked.tenant) ?? 1) - 1;
      if (left > 0) this.openByTenant.set(tracked.tenant, left);
      else this.openByTenant.delete(tracked.tenant);
    }
    return tracked;
  }

  /**
   * Decides the fate of a request whose node is gone: try another node while attempts and time
   * remain, otherwise fail it with NODE_LOST (or DEADLINE_EXCEEDED when time ran out).
   */
  onNodeLost(requestId: string, nodeId: string, nowMs: number): LostWorkAction | undefined {
    const tracked = this.open.get(requestId);
    if (tracked === undefined || tracked.nodeId !== nodeId) return undefined;
    tracked.excludedNodeIds.add(nodeId);
    tracked.nodeId = undefined;
    if (nowMs >= tracked.deadlineAtMs) {
      return {
        kind: 'fail',
        tracked,
        code: 'DEADLINE_EXCEEDED',
        message: `deadline passed after losing node ${nodeId}`,
      };
    }
    if (tracked.attempt >= this.config.maxAttempts) {
      return {
        kind: 'fail',
        tracked,
        code: 'NODE_LOST',
        message: `node ${nodeId} was lost and the request already used ${tracked.attempt} attempts`,
      };
    }
    return { kind: 'replace', tracked };
  }

  /** Requests whose deadline has passed (the backstop for work a live node never finished). */
  expired(nowMs: number): TrackedRequest[] {
    const out: TrackedRequest[] = [];
    for (const tracked of this.open.values()) if (tracked.deadlineAtMs <= nowMs) out.push(tracked);
    return out;
  }

  /** Every open request (for shutdown: each gets an answer). */
  all(): TrackedRequest[] {
    return [...this.open.values()];
  }
}
