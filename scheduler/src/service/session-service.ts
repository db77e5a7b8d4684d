import { quotaRefusal, type TenantQuotas } from '../core/admission/tenant-quotas.js';
import { randomBytes } from 'node:crypto';
import type { ModelSpec } from '@switchyard/fleet-model';
import {
  type ErrorCode,
  type ErrorReply,
  errorReply,
  PROTOCOL_VERSION,
  type SessionInfo,
  type SessionListReply,
  type SessionListRequest,
  type SessionOpenRequest,
  type SessionRecord,
  type SessionRef,
  subjects,
} from '@switchyard/protocol';
import type { FleetView } from '../core/fleet/fleet-view.js';
import type { PlacementFramework } from '../core/placement/framework.js';
import { changeOwnership } from '../core/sessions/ownership.js';
import type { SessionRegistry } from '../core/sessions/session-registry.js';
import type { SessionStore, VersionedRecord } from '../core/sessions/session-store.js';
import type { Counters, Logger, SchedulerOutbox } from './ports.js';

export interface SessionServiceConfig {
  /** Open sessions one tenant may hold (default 10,000). */
  readonly maxSessionsPerTenant: number;
  /** How long a node has to restore and acknowledge a session (default 5 s). */
  readonly adoptTimeoutMs: number;
  /** Nodes tried per move before the session is left `migrating` for the next sweep (default 3). */
  readonly placementAttempts: number;
}

export const DEFAULT_SESSION_CONFIG: SessionServiceConfig = {
  maxSessionsPerTenant: 10_000,
  adoptTimeoutMs: 5_000,
  placementAttempts: 3,
};

/** Durations of recent moves (node gone → session served elsewhere), for status and benchmarks. */
export interface MoveTiming {
  readonly sessionId: string;
  readonly ms: number;
}

/**
 * Opens, closes and moves sessions. The durable store is the truth and every ownership change is
 * a compare-and-set on it (see core/sessions/ownership.ts); the registry is this scheduler's cache.
 * Turns never pass through here: the owner node serves them on the session's own subject.
 */
export class SessionService {
  private readonly moving = new Set<string>();
  /** Opens in progress per tenant (bounded: a tenant's entry goes when its last open ends). */
  private readonly opening = new Map<string, number>();
  readonly recentMoves: MoveTiming[] = [];

  constructor(
    private readonly store: SessionStore,
    private readonly registry: SessionRegistry,
    private readonly fleet: FleetView,
    private readonly placement: PlacementFramework,
    private readonly models: (name: string) => ModelSpec | undefined,
    private readonly outbox: SchedulerOutbox,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly rng: () => number,
    private readonly config: SessionServiceConfig = DEFAULT_SESSION_CONFIG,
    /** Per-tenant quotas and rate limits; without them, only maxSessionsPerTenant applies. */
    private readonly quotas?: TenantQuotas,
  ) {}

  /** Loads every record from the store (a scheduler starting, or taking over). */
  async load(): Promise<number> {
    const all = await this.store.all();
    for (const { record, revision } of all) this.registry.put(record, revision);
    return all.length;
  }

  async open(tenant: string, request: SessionOpenRequest): Promise<SessionInfo | ErrorReply> {
    // Opens still awaiting the store or a node count against the quota too: the registry learns of
    // a session only after those awaits, and a burst of opens would otherwise all pass the check.
    const openSessions = this.registry.openCount(tenant) + (this.opening.get(tenant) ?? 0);
    if (openSessions >= this.config.maxSessionsPerTenant) {
      this.counters.increment('sessions.rejected.QUOTA_EXCEEDED');
      return errorReply(
        'QUOTA_EXCEEDED',
        `tenant ${tenant} has ${this.config.maxSessionsPerTenant} open sessions, its quota`,
      );
    }
    const quota = this.quotas?.judgeSession(tenant, openSessions);
    if (quota !== undefined && !quota.ok) {
      this.counters.increment(`sessions.rejected.${quota.code}`);
      return quotaRefusal(quota);
    }
    const model = this.models(request.model);
    if (model === undefined)
      return errorReply('UNKNOWN_MODEL', `model ${request.model} is not in the scheduler's catalogue`);
    this.opening.set(tenant, (this.opening.get(tenant) ?? 0) + 1);
    let counted = true;
    // Once the registry holds the session it counts there: counting it here too would refuse a
    // tenant's next open while this one waits for its node.
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.opening.get(tenant) ?? 1) - 1;
      if (left === 0) this.opening.delete(tenant);
      else this.opening.set(tenant, left);
    };
    try {
      return await this.openOnNode(tenant, request, model, uncount);
    } finally {
      uncount();
    }
  }

  private async openOnNode(
    tenant: string,
    request: SessionOpenRequest,
    model: ModelSpec,
    registered: () => void,
  ): Promise<SessionInfo | ErrorReply> {
    const sessionId = `s-${randomBytes(6).toString('hex')}`;
    // Placement hints narrow the choice when some node in the hinted cluster/zone can take the session.
    const hinted = this.outsideHints(request.placement);
    const first =
      hinted.size > 0 && typeof this.place(sessionId, model, request.expectedContextTokens, hinted) === 'string'
        ? this.place(sessionId, model, request.expectedContextTokens, hinted)
        : this.place(sessionId, model, request.expectedContextTokens, new Set());
    if (typeof first !== 'string') return first;
    const record: SessionRecord = {
      v: PROTOCOL_VERSION,
      sessionId,
      tenant,
      model: model.name,
      state: 'open',
      ownerNodeId: first,
      contextTokens: 0,
      expectedContextTokens: request.expectedContextTokens,
      turns: 0,
      createdAtMs: Math.floor(this.clock()),
      turnSubject: subjects.sessionTurnBase(tenant, sessionId),
    };
    const created = await this.store.create(record);
    if (!created.ok) return errorReply('INTERNAL', `cannot record session ${sessionId}: ${created.message}`);
    this.registry.put(record, created.revision);
    registered();
    const adopted = await this.adopt({ record, revision: created.revision }, first, 'open');
    if (adopted) {
      this.counters.increment('sessions.opened');
      return this.info(this.registry.get(sessionId)?.record ?? record);
    }
    // The chosen node did not take it: move it like any orphan, excluding that node.
    const moved = await this.move(sessionId, first, 'open');
    const current = this.registry.get(sessionId)?.record;
    if (moved && current !== undefined) {
      this.counters.increment('sessions.opened');
      return this.info(current);
    }
    const closed = await changeOwnership(this.store, sessionId, { kind: 'close' });
    if (closed.ok) this.registry.put(closed.current.record, closed.current.revision);
    return errorReply('NO_CAPACITY', `no node could take session ${sessionId} of ${model.name}`, {
      retryAfterMs: 1000,
    });
  }

  get(tenant: string, ref: SessionRef): SessionInfo | ErrorReply {
    const held = this.registry.get(ref.sessionId);
    if (held === undefined || held.record.tenant !== tenant) return this.notFound(ref.sessionId);
    return this.info(held.record);
  }

  list(tenant: string, request: SessionListRequest): SessionListReply {
    const { total, records } = this.registry.list(tenant, request.limit);
    return { v: PROTOCOL_VERSION, ok: true, total, sessions: records.map(({ v: _v, ...fields }) => fields) };
  }

  async close(tenant: string, ref: SessionRef): Promise<SessionInfo | ErrorReply> {
    const held = this.registry.get(ref.sessionId);
    if (held === undefined || held.record.tenant !== tenant) return this.notFound(ref.sessionId);
    const closed = await changeOwnership(this.store, ref.sessionId, { kind: 'close' }, held);
    if (!closed.ok) {
      if (closed.reason === 'closed' && closed.current !== undefined) return this.info(closed.current.record);
      return errorReply('INTERNAL', `cannot close ${ref.sessionId}: ${closed.reason}`);
    }
    this.registry.put(closed.current.record, closed.current.revision);
    const owner = closed.current.record.ownerNodeId;
    if (owner !== null) {
      void this.outbox.releaseSession(
        owner,
        { v: PROTOCOL_VERSION, sessionId: ref.sessionId, reason: 'closed' },
        this.config.adoptTimeoutMs,
      );
    }
    this.counters.increment('sessions.closed');
    return this.info(closed.current.record);
  }

  /** A node died, left, restarted or is draining: move every session it owned. */
  nodeGone(nodeId: string, reason: string): void {
    const owned = this.registry.ownedBy(nodeId);
    if (owned.length === 0) return;
    this.log.warn({ nodeId, sessions: owned.length, reason }, 'moving sessions off node');
    for (const sessionId of owned) this.moveInBackground(sessionId, nodeId);
  }

  /** Moves sessions whose owner is unknown or not alive, or that a failed move left unowned. */
  sweepOrphans(): void {
    // Suspect owners keep their sessions: suspicion is often a pause; death (or absence) moves them.
    const isLive = (nodeId: string): boolean => {
      const node = this.fleet.get(nodeId);
      return node !== undefined && node.liveness !== 'dead';
    };
    for (const record of this.registry.orphans(isLive)) {
      if (!this.moving.has(record.sessionId)) this.moveInBackground(record.sessionId, record.ownerNodeId);
    }
  }

  /** Starts a move nobody waits for; a failure (store unreachable) is logged and the sweep retries. */
  private moveInBackground(sessionId: string, fromNodeId: string | null): void {
    this.move(sessionId, fromNodeId, 'migrate').catch((err: unknown) => {
      this.log.warn(
        { sessionId, err: err instanceof Error ? err.message : String(err) },
        'session move failed; will retry',
      );
    });
  }

  /**
   * Moves one session off `fromNodeId` (null: it has no owner): detach (fenced), place elsewhere,
   * attach (fenced), adopt. Returns whether a node serves it now.
   */
  private async move(sessionId: string, fromNodeId: string | null, reason: 'open' | 'migrate'): Promise<boolean> {
    if (this.moving.has(sessionId)) return false;
    this.moving.add(sessionId);
    const startedMs = this.clock();
    try {
      let current = this.registry.get(sessionId);
      if (current === undefined) return false;
      if (fromNodeId !== null && current.record.ownerNodeId === fromNodeId) {
        const detached = await changeOwnership(this.store, sessionId, { kind: 'detach', fromNodeId }, current);
        if (!detached.ok) {
          if (detached.current !== undefined) this.registry.put(detached.current.record, detached.current.revision);
          return false; // someone else moved or closed it: their write stands
        }
        this.registry.put(detached.current.record, detached.current.revision);
        current = detached.current;
      }
      const model = this.models(current.record.model);
      if (model === undefined || current.record.ownerNodeId !== null) return false;
      // Make a still-running old owner let go before anyone else serves (a dead one just does not answer).
      if (fromNodeId !== null && reason === 'migrate') {
        await this.outbox.releaseSession(fromNodeId, { v: PROTOCOL_VERSION, sessionId, reason: 'migrate' }, 1000);
      }
      const excluded = new Set<string>(fromNodeId === null ? [] : [fromNodeId]);
      for (let attempt = 0; attempt < this.config.placementAttempts; attempt++) {
        const target = this.place(sessionId, model, current.record.expectedContextTokens, excluded);
        if (typeof target !== 'string') return false;
        const attached = await changeOwnership(this.store, sessionId, { kind: 'attach', toNodeId: target }, current);
        if (!attached.ok) {
          if (attached.current !== undefined) this.registry.put(attached.current.record, attached.current.revision);
          return false;
        }
        this.registry.put(attached.current.record, attached.current.revision);
        if (await this.adopt(attached.current, target, reason)) {
          this.counters.increment('sessions.moved');
          if (reason === 'migrate') this.counters.observe('sessions.migration', (this.clock() - startedMs) / 1000);
          this.recentMoves.push({ sessionId, ms: this.clock() - startedMs });
          if (this.recentMoves.length > 10_000) this.recentMoves.splice(0, this.recentMoves.length - 10_000);
          return true;
        }
        excluded.add(target);
        // It may still finish adopting late: make it let go.
        void this.outbox.releaseSession(target, { v: PROTOCOL_VERSION, sessionId, reason: 'migrate' }, 1000);
        const detached = await changeOwnership(
          this.store,
          sessionId,
          { kind: 'detach', fromNodeId: target },
          attached.current,
        );
        if (!detached.ok) return false;
        this.registry.put(detached.current.record, detached.current.revision);
        current = detached.current;
      }
      return false;
    } finally {
      this.moving.delete(sessionId);
    }
  }

  private async adopt(current: VersionedRecord, nodeId: string, reason: 'open' | 'migrate'): Promise<boolean> {
    const { record } = current;
    const reply = await this.outbox.adoptSession(
      nodeId,
      {
        v: PROTOCOL_VERSION,
        sessionId: record.sessionId,
        tenant: record.tenant,
        model: record.model,
        ownerRevision: current.revision,
        reason,
      },
      this.config.adoptTimeoutMs,
    );
    if (reply.ok) {
      // Keep the cached record's counters current with what the owner restored (the store keeps the ownership).
      this.registry.put(
        { ...record, turns: reply.restoredTurns, contextTokens: reply.contextTokens },
        current.revision,
      );
      return true;
    }
    const why =
      'error' in reply ? `${reply.error.code}: ${reply.error.message}` : `${reply.transport}: ${reply.message}`;
    this.log.warn({ sessionId: record.sessionId, nodeId, reason: why }, 'node did not adopt session');
    return false;
  }

  /** A node for the session, or the typed reason there is none. */
  private place(
    sessionId: string,
    model: ModelSpec,
    contextTokens: number,
    excluded: ReadonlySet<string>,
  ): string | ErrorReply {
    const decision = this.placement.place(
      {
        requestId: sessionId,
        model,
        inputTokens: Math.max(1, contextTokens),
        maxOutputTokens: 1,
        priority: 'normal',
        sloClass: 'interactive',
        excludeNodeIds: excluded,
      },
      this.fleet,
      { nowMs: this.clock(), rng: this.rng },
    );
    if (decision.ok) return decision.node.nodeId;
    const code: ErrorCode = decision.code;
    return errorReply(code, decision.message, code === 'NO_CAPACITY' ? { retryAfterMs: 1000 } : {});
  }

  /** Nodes that do not match the open request's placement hints (empty when there are none). */
  private outsideHints(hints: SessionOpenRequest['placement']): Set<string> {
    const outside = new Set<string>();
    if (hints === undefined || (hints.cluster === undefined && hints.zone === undefined)) return outside;
    for (const node of this.fleet.nodes) {
      if (
        (hints.cluster !== undefined && node.cluster !== hints.cluster) ||
        (hints.zone !== undefined && node.zone !== hints.zone)
      ) {
        outside.add(node.nodeId);
      }
    }
    return outside;
  }

  private info(record: SessionRecord): SessionInfo {
    const { v: _v, ...fields } = record;
    return { v: PROTOCOL_VERSION, ok: true, ...fields };
  }

  private notFound(sessionId: string): ErrorReply {
    return errorReply('SESSION_NOT_FOUND', `session ${sessionId} does not exist for this tenant`);
  }
}
