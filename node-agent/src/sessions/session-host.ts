import { guardedHandler } from '../guarded-handler.js';
import { createHash } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  decode,
  encode,
  type ErrorCode,
  errorReply,
  PROTOCOL_VERSION,
  SessionAdopt,
  type SessionLogEntry,
  SessionRelease,
  SessionTurnRequest,
  type SessionTurnResult,
  subjects,
  SwitchyardError,
} from '@switchyard/protocol';
import type { BackendCompletion, BackendJob, ChatTurn } from '../backends/backend.js';
import type { AgentLogger } from '../node-agent.js';
import type { SessionLog } from './session-log.js';

/** One session this node serves. */
interface HostedSession {
  readonly sessionId: string;
  readonly tenant: string;
  readonly model: string;
  readonly subscription: Subscription;
  /** Turns already in the log, by turn key. */
  readonly turns: Map<string, SessionLogEntry>;
  /** Reply subjects waiting for a turn that is running now, by turn key. */
  readonly running: Map<string, { digest: string; replyTo: string[] }>;
  turnCount: number;
  contextTokens: number;
  lastSequence: number;
  /** Whether the context is in accelerator memory; if not, the next turn prefills it again. */
  resident: boolean;
  lastActivityMs: number;
  /** Turns of one session run one after another (a conversation is sequential; the log append expects it). */
  tail: Promise<void>;
}

/** What the host needs from the node it lives on. */
export interface SessionHostOptions {
  readonly nodeId: string;
  readonly nc: NatsConnection;
  readonly log: SessionLog;
  /** Runs one job on the node's backend; rejects with a SwitchyardError when the backend refuses. */
  readonly run: (job: BackendJob) => Promise<BackendCompletion>;
  readonly logger: AgentLogger;
  readonly clock: () => number;
  /** Sessions idle this long are offloaded (context dropped; restored on the next turn). */
  readonly idleOffloadMs: number;
  /** The owner the durable ownership record names now (undefined: no record). */
  readonly currentOwner: (sessionId: string) => Promise<string | null | undefined>;
}

function digestOf(request: SessionTurnRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.inputTokens, request.maxOutputTokens, request.prompt ?? null]))
    .digest('base64url')
    .slice(0, 32);
}

/**
 * Serves the sessions a node owns. It subscribes to a session's turn subject only while it owns it
 * (routing by subject ownership: the scheduler is not on the turn path), restores a session from
 * its durable log on adopt, answers a retried turn from the log instead of running it again, and
 * stops serving a session the moment an append shows another node owns it now.
 */
export class SessionHost {
  private readonly sessions = new Map<string, HostedSession>();
  private readonly offloadTimer: NodeJS.Timeout;

  constructor(private readonly options: SessionHostOptions) {
    this.offloadTimer = setInterval(() => this.offloadIdle(), Math.max(1000, Math.min(options.idleOffloadMs, 60_000)));
    this.offloadTimer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Context tokens held resident across sessions (for memory accounting and tests). */
  get residentContextTokens(): number {
    let total = 0;
    for (const session of this.sessions.values()) if (session.resident) total += session.contextTokens;
    return total;
  }

  /** `sy.v1.node.<id>.session.adopt`: take ownership, restore from the log, start serving. */
  async adopt(msg: Msg): Promise<void> {
    const decoded = decode(SessionAdopt, msg.data);
    if (!decoded.ok) return this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
    const adopt = decoded.value;
    try {
      const loaded = await this.options.log.load(adopt.sessionId);
      // The record must still name this node: a close or another move may have overtaken the adopt.
      if ((await this.options.currentOwner(adopt.sessionId)) !== this.options.nodeId) {
        this.respond(
          msg,
          errorReply('NOT_OWNER', `session ${adopt.sessionId} is no longer assigned to ${this.options.nodeId}`),
        );
        return;
      }
      this.drop(adopt.sessionId);
      const turns = new Map(loaded.entries.map((entry) => [entry.turnKey, entry]));
      const last = loaded.entries[loaded.entries.length - 1];
      const session: HostedSession = {
        sessionId: adopt.sessionId,
        tenant: adopt.tenant,
        model: adopt.model,
        subscription: this.options.nc.subscribe(
          subjects.sessionTurn(adopt.tenant, adopt.sessionId, this.options.nodeId),
          {
            callback: guardedHandler(
              'session turn',
              (turnMsg) => this.turn(adopt.sessionId, turnMsg),
              this.options.logger,
            ),
          },
        ),
        turns,
        running: new Map(),
        turnCount: last?.turn ?? 0,
        contextTokens: last?.contextTokens ?? 0,
        lastSequence: loaded.lastSequence,
        resident: false,
        lastActivityMs: this.options.clock(),
        tail: Promise.resolve(),
      };
      this.sessions.set(adopt.sessionId, session);
      // The subscription must be live on the server before the scheduler tells clients where to go.
      await this.options.nc.flush();
      this.options.logger.info(
        { nodeId: this.options.nodeId, sessionId: adopt.sessionId, turns: session.turnCount, reason: adopt.reason },
        'session adopted',
      );
      this.respond(msg, {
        v: PROTOCOL_VERSION,
        ok: true,
        sessionId: adopt.sessionId,
        restoredTurns: session.turnCount,
        contextTokens: session.contextTokens,
      });
    } catch (err) {
      this.respond(msg, errorReply('INTERNAL', `cannot restore session ${adopt.sessionId}: ${messageOf(err)}`));
    }
  }

  /** `sy.v1.node.<id>.session.release`: stop serving (closed, or moved elsewhere). */
  release(msg: Msg): void {
    const decoded = decode(SessionRelease, msg.data);
    if (!decoded.ok) return this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
    const session = this.sessions.get(decoded.value.sessionId);
    this.drop(decoded.value.sessionId);
    this.respond(msg, {
      v: PROTOCOL_VERSION,
      ok: true,
      sessionId: decoded.value.sessionId,
      restoredTurns: session?.turnCount ?? 0,
      contextTokens: session?.contextTokens ?? 0,
    });
  }

  /** Stops serving every session (node shutting down); the scheduler moves them. */
  close(): void {
    clearInterval(this.offloadTimer);
    for (const sessionId of this.sessions.keys()) this.drop(sessionId);
  }

  private turn(sessionId: string, msg: Msg): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined)
      return this.respond(msg, errorReply('NOT_OWNER', `node ${this.options.nodeId} does not own ${sessionId}`));
    const decoded = decode(SessionTurnRequest, msg.data);
    if (!decoded.ok) return this.respond(msg, { v: PROTOCOL_VERSION, ok: false, error: decoded.error });
    if (msg.reply === undefined || msg.reply === '') return;
    const request = decoded.value;
    const digest = digestOf(request);
    const done = session.turns.get(request.turnKey);
    if (done !== undefined) {
      if (done.requestDigest !== digest) return this.conflict(msg, request.turnKey);
      return this.respond(msg, this.resultOf(session, done, 0, true));
    }
    const running = session.running.get(request.turnKey);
    if (running !== undefined) {
      if (running.digest !== digest) return this.conflict(msg, request.turnKey);
      running.replyTo.push(msg.reply);
      return;
    }
    session.running.set(request.turnKey, { digest, replyTo: [msg.reply] });
    session.tail = session.tail.then(() => this.runTurn(session, request, digest));
  }

  private async runTurn(session: HostedSession, request: SessionTurnRequest, digest: string): Promise<void> {
    const waiting = session.running.get(request.turnKey);
    const answer = (body: object): void => {
      session.running.delete(request.turnKey);
      for (const replyTo of waiting?.replyTo ?? []) this.publish(replyTo, body);
    };
    if (this.sessions.get(session.sessionId) !== session) {
      answer(errorReply('NOT_OWNER', `session ${session.sessionId} left node ${this.options.nodeId}`));
      return;
    }
    const restoredContextTokens = session.resident ? 0 : session.contextTokens;
    let completion: BackendCompletion;
    try {
      completion = await this.options.run({
        id: `${session.sessionId}:${request.turnKey}`,
        model: session.model,
        inputTokens: request.inputTokens + restoredContextTokens,
        maxOutputTokens: request.maxOutputTokens,
        priority: 'normal',
        ...(request.prompt === undefined ? {} : { prompt: request.prompt, history: chatHistory(session) }),
      });
    } catch (err) {
      const code: ErrorCode = err instanceof SwitchyardError ? err.code : 'INTERNAL';
      answer(errorReply(code, `turn ${request.turnKey} of ${session.sessionId} failed: ${messageOf(err)}`));
      return;
    }
    const entry: SessionLogEntry = {
      v: PROTOCOL_VERSION,
      sessionId: session.sessionId,
      turn: session.turnCount + 1,
      turnKey: request.turnKey,
      requestDigest: digest,
      nodeId: this.options.nodeId,
      inputTokens: request.inputTokens,
      outputTokens: completion.outputTokens,
      contextTokens: session.contextTokens + request.inputTokens + completion.outputTokens,
      atMs: Math.floor(this.options.clock()),
      serviceMs: completion.timings.totalMs,
      ...(request.prompt === undefined ? {} : { prompt: request.prompt }),
      ...(completion.text === undefined ? {} : { text: completion.text }),
    };
    let appended = await this.options.log.append(entry, session.lastSequence);
    if (!appended.ok && appended.reason === 'not-owner' && (await this.stillOwner(session))) {
      // Another node appended since our restore (the previous owner, before it let go): catch up.
      const caughtUp = await this.catchUp(session);
      const already = caughtUp ? session.turns.get(request.turnKey) : undefined;
      if (already !== undefined) {
        answer(
          already.requestDigest === digest
            ? this.resultOf(session, already, 0, true)
            : errorReply('IDEMPOTENCY_CONFLICT', `turn key ${request.turnKey} was already used with a different body`),
        );
        return;
      }
      if (caughtUp) {
        entry.turn = session.turnCount + 1;
        entry.contextTokens = session.contextTokens + request.inputTokens + completion.outputTokens;
        appended = await this.options.log.append(entry, session.lastSequence);
      }
    }
    if (!appended.ok) {
      if (appended.reason === 'not-owner') {
        this.options.logger.warn(
          { nodeId: this.options.nodeId, sessionId: session.sessionId },
          'session owned elsewhere now: dropped',
        );
        this.drop(session.sessionId);
        answer(errorReply('NOT_OWNER', `session ${session.sessionId} is owned by another node now`));
      } else {
        // Retryable: a retry with the same key is answered from the log if the append did land.
        answer(
          errorReply('INTERNAL', `turn ${request.turnKey} ran but could not be logged: ${appended.message}`, {
            retryable: true,
          }),
        );
      }
      return;
    }
    if (appended.duplicate && (await this.catchUp(session))) {
      // The log already had this turn (another run of it got there first): its entry is the answer.
      const logged = session.turns.get(request.turnKey);
      if (logged !== undefined) {
        answer(
          logged.requestDigest === digest
            ? this.resultOf(session, logged, 0, true)
            : errorReply('IDEMPOTENCY_CONFLICT', `turn key ${request.turnKey} was already used with a different body`),
        );
        return;
      }
    }
    session.turns.set(entry.turnKey, entry);
    session.turnCount = entry.turn;
    session.contextTokens = entry.contextTokens;
    session.lastSequence = appended.sequence;
    session.resident = true;
    session.lastActivityMs = this.options.clock();
    answer({ ...this.resultOf(session, entry, restoredContextTokens, false), timings: completion.timings });
  }

  /** Whether the ownership record still names this node (so a log conflict means "catch up", not "you lost it"). */
  private async stillOwner(session: HostedSession): Promise<boolean> {
    try {
      return (await this.options.currentOwner(session.sessionId)) === this.options.nodeId;
    } catch {
      return false;
    }
  }

  /** Re-reads the log after someone else appended; false if it cannot. */
  private async catchUp(session: HostedSession): Promise<boolean> {
    try {
      const loaded = await this.options.log.load(session.sessionId);
      for (const entry of loaded.entries) session.turns.set(entry.turnKey, entry);
      const last = loaded.entries[loaded.entries.length - 1];
      session.turnCount = last?.turn ?? 0;
      session.contextTokens = last?.contextTokens ?? 0;
      session.lastSequence = loaded.lastSequence;
      return true;
    } catch {
      return false;
    }
  }

  private resultOf(
    session: HostedSession,
    entry: SessionLogEntry,
    restoredContextTokens: number,
    replayed: boolean,
  ): SessionTurnResult {
    return {
      v: PROTOCOL_VERSION,
      ok: true,
      sessionId: session.sessionId,
      turnKey: entry.turnKey,
      turn: entry.turn,
      nodeId: this.options.nodeId,
      inputTokens: entry.inputTokens,
      outputTokens: entry.outputTokens,
      contextTokens: entry.contextTokens,
      restoredContextTokens,
      replayed,
      timings: { queueMs: 0, loadMs: 0, ttftMs: 0, totalMs: entry.serviceMs },
      ...(entry.text === undefined ? {} : { text: entry.text }),
    };
  }

  private conflict(msg: Msg, turnKey: string): void {
    this.respond(msg, errorReply('IDEMPOTENCY_CONFLICT', `turn key ${turnKey} was already used with a different body`));
  }

  private offloadIdle(): void {
    const cutoff = this.options.clock() - this.options.idleOffloadMs;
    for (const session of this.sessions.values()) {
      if (session.resident && session.running.size === 0 && session.lastActivityMs < cutoff) session.resident = false;
    }
  }

  private drop(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.sessions.delete(sessionId);
    session.subscription.unsubscribe();
  }

  private respond(msg: Msg, body: object): void {
    if (msg.reply !== undefined && msg.reply !== '') this.publish(msg.reply, body);
  }

  private publish(subject: string, body: object): void {
    try {
      this.options.nc.publish(subject, encode(body));
    } catch (err) {
      this.options.logger.error({ nodeId: this.options.nodeId, subject, err: messageOf(err) }, 'publish failed');
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The session's earlier exchanges with text, oldest first: what a stateless model server needs to
 * continue the conversation. Rebuilt from the log on restore, so a session that moved carries on
 * where it was.
 */
function chatHistory(session: HostedSession): ChatTurn[] {
  return [...session.turns.values()]
    .filter((entry) => entry.prompt !== undefined && entry.text !== undefined)
    .sort((a, b) => a.turn - b.turn)
    .map((entry) => ({ prompt: entry.prompt!, answer: entry.text! }));
}
