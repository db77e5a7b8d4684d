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

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: SessionClientOptions,
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.turnDeadlineMs = options.turnDeadlineMs ?? 30_000;
  }

  async open(request: Omit<Partial<SessionOpenRequest>, 'v'> & { model: string }): Promise<SessionInfo> {
    return this.control('open', { v: PROTOCOL_VERSION, ...request });
  }

  get(sessionId: string): Promise<SessionInfo> {
    return this.control('get', { v: PROTOCOL_VERSION, sessionId });
  }

  close(sessionId: string): Promise<SessionInfo> {
    return this.control('close', { v: PROTOCOL_VERSION, sessionId });
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

  /** Sends one turn, retrying it (same key) while the session moves; throws RemoteError on a final error. */
  async turn(sessionId: string, input: TurnInput): Promise<SessionTurnResult> {
    const subject = subjects.sessionTurn(this.options.tenant, sessionId);
    const body = encode({ v: PROTOCOL_VERSION, ...input });
    const deadline = Date.now() + this.turnDeadlineMs;
    let backoffMs = 50;
    for (;;) {
      let why: string;
      try {
        const reply = await this.nc.request(subject, body, {
          timeout: Math.min(this.timeoutMs, Math.max(1, deadline - Date.now())),
        });
        const decoded = decode(SessionTurnReply, reply.data);
        if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
        if (decoded.value.ok) return decoded.value;
        const { error } = decoded.value;
        if (!error.retryable) throw new RemoteError(error.code, error.message);
        why = error.message;
        if (error.retryAfterMs !== undefined) backoffMs = Math.max(backoffMs, error.retryAfterMs);
      } catch (err) {
        if (!(err instanceof RequestError) && !(err instanceof TimeoutError)) throw err;
        // Nobody serves the subject (moving, closed or unknown) or no answer: ask the scheduler what the session is.
        why = err.message;
        try {
          const info = await this.get(sessionId);
          if (info.state === 'closed') throw new RemoteError('SESSION_CLOSED', `session ${sessionId} is closed`);
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
    return decoded.value;
  }
}
