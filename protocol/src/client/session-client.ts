import { type NatsConnection, RequestError, TimeoutError } from '@nats-io/nats-core';
import { decode, encode } from '../codec.js';
import { isRetryable, RemoteError } from '../errors.js';
import { SessionListResponse, SessionResponse, SessionTurnReply } from '../messages/replies.js';
import type {
  SessionInfo,
  SessionListReply,
  SessionOpenRequest,
  SessionTurnRequest,
  SessionTurnResult,
} from '../messages/session.js';
import { subjects } from '../subjects.js';
import { PROTOCOL_VERSION } from '../version.js';

export interface SessionClientOptions {
  readonly tenant: string;
  /** Per-request timeout (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** A turn is retried (same turn key) until this much time has passed (default 30 s). */
  readonly turnDeadlineMs?: number;
  /**
   * Owners remembered, most recently used kept (default 10,000): a long-lived client touching many
   * sessions stays bounded, and a forgotten owner costs one `get` on the next turn.
   */
  readonly ownerCacheSize?: number;
}

/** Input of one turn; `turnKey` must be reused on a retry of the same turn by the caller. */
export type TurnInput = Omit<SessionTurnRequest, 'v'>;

/**
 * The session API for clients, following docs/protocol.md: control operations go to the
 * scheduler; turns go straight to the owner on the session's subject and are retried with the same
 * turn key while the session moves (no responders, timeout, NOT_OWNER), so a turn is answered
 * exactly once from the session log's point of view.
 */
export class SessionClient {
  private readonly timeoutMs: number;
  private readonly turnDeadlineMs: number;
  /** The last owner the scheduler named for each session (insertion order = recency). */
  private readonly owners = new Map<string, string>();
  private readonly ownerCacheSize: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: SessionClientOptions,
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.turnDeadlineMs = options.turnDeadlineMs ?? 30_000;
    this.ownerCacheSize = Math.max(1, options.ownerCacheSize ?? 10_000);
  }

  /** Sessions whose owner this client remembers. */
  get cachedOwners(): number {
    return this.owners.size;
  }

  private rememberOwner(sessionId: string, owner: string | null): void {
    this.owners.delete(sessionId);
    if (owner === null) return;
    this.owners.set(sessionId, owner);
    if (this.owners.size > this.ownerCacheSize) {
      const oldest = this.owners.keys().next().value;
      if (oldest !== undefined) this.owners.delete(oldest);
    }
  }

  async open(request: Omit<Partial<SessionOpenRequest>, 'v'> & { model: string }): Promise<SessionInfo> {
    return this.control('open', { v: PROTOCOL_VERSION, ...request });
  }

  get(sessionId: string): Promise<SessionInfo> {
    return this.control('get', { v: PROTOCOL_VERSION, sessionId });
  }

  /** The owner to send a turn to: the one last seen, else the scheduler's answer (null while moving). */
  private async ownerOf(sessionId: string): Promise<string | null> {
    const known = this.owners.get(sessionId);
    if (known !== undefined) {
      this.rememberOwner(sessionId, known);
      return known;
    }
    return (await this.get(sessionId)).ownerNodeId;
  }

  async close(sessionId: string): Promise<SessionInfo> {
    const info = await this.control('close', { v: PROTOCOL_VERSION, sessionId });
    this.owners.delete(sessionId);
    return info;
  }

  async list(limit = 100): Promise<SessionListReply> {
    const reply = await this.nc.request(
      subjects.session(this.options.tenant, 'list'),
      encode({ v: PROTOCOL_VERSION, limit }),
      {
        timeout: this.timeoutMs,
      },
    );
    const decoded = decode(SessionListResponse, reply.data);
    if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
    if (!decoded.value.ok) throw new RemoteError(decoded.value.error.code, decoded.value.error.message);
    return decoded.value;
  }

  /**
   * Sends one turn to the session's owner, retrying it (same key) while the session moves: no
   * responders or no answer from the owner last seen means "ask the scheduler who owns it now".
   * Throws RemoteError on a final error.
   */
  async turn(sessionId: string, input: TurnInput): Promise<SessionTurnResult> {
    const body = encode({ v: PROTOCOL_VERSION, ...input });
    const deadline = Date.now() + this.turnDeadlineMs;
    let backoffMs = 50;
    for (;;) {
      let why: string;
      try {
        const owner = await this.ownerOf(sessionId);
        if (owner === null) throw new SessionMovingError(sessionId);
        const reply = await this.nc.request(subjects.sessionTurn(this.options.tenant, sessionId, owner), body, {
          timeout: Math.min(this.timeoutMs, Math.max(1, deadline - Date.now())),
        });
        const decoded = decode(SessionTurnReply, reply.data);
        if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
        if (decoded.value.ok) return decoded.value;
        const { error } = decoded.value;
        if (!error.retryable) throw new RemoteError(error.code, error.message);
        why = error.message;
        if (error.code === 'NOT_OWNER') this.owners.delete(sessionId);
        if (error.retryAfterMs !== undefined) backoffMs = Math.max(backoffMs, error.retryAfterMs);
      } catch (err) {
        const worthRetrying =
          err instanceof RequestError ||
          err instanceof TimeoutError ||
          err instanceof SessionMovingError ||
          (err instanceof RemoteError && isRetryable(err.code));
        if (!worthRetrying) throw err;
        // Nobody serves the owner's subject (moved, closed or unknown) or no answer: ask the scheduler.
        why = err instanceof Error ? err.message : String(err);
        this.owners.delete(sessionId);
        try {
          const info = await this.get(sessionId);
          if (info.state === 'closed') throw new RemoteError('SESSION_CLOSED', `session ${sessionId} is closed`);
          this.rememberOwner(sessionId, info.ownerNodeId);
        } catch (lookup) {
          // A definite answer ends the turn; a scheduler that cannot be reached (failing over) means "keep trying".
          if (lookup instanceof RemoteError && !isRetryable(lookup.code)) throw lookup;
        }
      }
      if (Date.now() + backoffMs > deadline) {
        throw new RemoteError(
          'DEADLINE_EXCEEDED',
          `turn ${input.turnKey} of ${sessionId} not answered within ${this.turnDeadlineMs} ms (${why})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 1000);
    }
  }

  private async control(verb: 'open' | 'get' | 'close', body: object): Promise<SessionInfo> {
    const reply = await this.nc.request(subjects.session(this.options.tenant, verb), encode(body), {
      timeout: this.timeoutMs,
    });
    const decoded = decode(SessionResponse, reply.data);
    if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
    if (!decoded.value.ok)
      throw new RemoteError(decoded.value.error.code, decoded.value.error.message, decoded.value.error.retryAfterMs);
    this.rememberOwner(decoded.value.sessionId, decoded.value.state === 'closed' ? null : decoded.value.ownerNodeId);
    return decoded.value;
  }
}

/** The scheduler says the session has no owner right now (it is moving): try again shortly. */
class SessionMovingError extends Error {
  override readonly name = 'SessionMovingError';
  constructor(sessionId: string) {
    super(`session ${sessionId} is moving to another node`);
  }
}
