import type { NatsConnection } from '@nats-io/transport-node';
import { createRng } from '@switchyard/fleet-model';
import { type SessionInfo, SessionClient, type SessionLogEntry } from '@switchyard/protocol';

/** One answered (or failed) turn, as the client saw it. */
export interface TurnOutcome {
  readonly sessionId: string;
  /** Wall-clock send time (Date.now()). */
  readonly sentAtMs: number;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly latencyMs: number;
  readonly code: string;
  readonly nodeId?: string;
  readonly restoredContextTokens?: number;
}

/** What the audit of the durable logs found. */
export interface SessionAudit {
  readonly sessions: number;
  readonly turnsAnswered: number;
  /** Sessions whose log is not exactly the turns the client saw answered, in order. */
  readonly incompleteLogs: number;
  /** Sessions whose turns were served by more than one node (they moved). */
  readonly moved: number;
}

/**
 * Agent sessions for the demo: each converses turn after turn with think time, like an agent
 * loop, through the session client (straight to the owner, retried while the session moves).
 */
export class SessionDriver {
  readonly outcomes: TurnOutcome[] = [];
  private readonly client: SessionClient;
  private readonly sessions: SessionInfo[] = [];
  private readonly answered = new Map<string, string[]>();
  private readonly rng: () => number;
  private running = true;
  private loops: Promise<void>[] = [];

  constructor(
    nc: NatsConnection,
    private readonly model: string,
    seed: number,
  ) {
    this.client = new SessionClient(nc, { tenant: 'demo-agents', turnDeadlineMs: 30_000, requestTimeoutMs: 5000 });
    this.rng = createRng(seed);
  }

  /** Opens `count` sessions and starts their conversations. */
  async start(count: number, thinkMs: number): Promise<void> {
    for (let i = 0; i < count; i++)
      this.sessions.push(await this.client.open({ model: this.model, expectedContextTokens: 16_000 }));
    this.loops = this.sessions.map((session) => this.converse(session, thinkMs));
  }

  get openSessions(): readonly SessionInfo[] {
    return this.sessions;
  }

  /** How many of the sessions each node owns now (as the scheduler's session records say). */
  async ownerCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const session of this.sessions) {
      const owner = await this.client.get(session.sessionId).then(
        (info) => info.ownerNodeId,
        () => null,
      );
      if (owner !== null) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    return counts;
  }

  /** Stops after the turns in flight; closes the sessions. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Reads every session's durable log and compares it with what the client saw. */
  async audit(readLog: (sessionId: string) => Promise<SessionLogEntry[]>): Promise<SessionAudit> {
    let incompleteLogs = 0;
    let moved = 0;
    let turnsAnswered = 0;
    for (const session of this.sessions) {
      const seen = this.answered.get(session.sessionId) ?? [];
      turnsAnswered += seen.length;
      const log = await readLog(session.sessionId);
      if (log.map((e) => e.turnKey).join('|') !== seen.join('|')) incompleteLogs++;
      if (new Set(log.map((e) => e.nodeId)).size > 1) moved++;
      await this.client.close(session.sessionId).catch(() => undefined);
    }
    return { sessions: this.sessions.length, turnsAnswered, incompleteLogs, moved };
  }

  private async converse(session: SessionInfo, thinkMs: number): Promise<void> {
    const keys: string[] = [];
    this.answered.set(session.sessionId, keys);
    for (let turn = 1; this.running; turn++) {
      await new Promise((resolve) => setTimeout(resolve, thinkMs * (0.5 + this.rng())));
      if (!this.running) return;
      const turnKey = `turn-${turn}`;
      const started = performance.now();
      const sent = {
        sessionId: session.sessionId,
        sentAtMs: Date.now(),
        inputTokens: 50 + Math.floor(this.rng() * 400),
        maxOutputTokens: 20 + Math.floor(this.rng() * 100),
      };
      try {
        const result = await this.client.turn(session.sessionId, {
          turnKey,
          inputTokens: sent.inputTokens,
          maxOutputTokens: sent.maxOutputTokens,
        });
        keys.push(turnKey);
        this.outcomes.push({
          ...sent,
          latencyMs: performance.now() - started,
          code: 'ok',
          nodeId: result.nodeId,
          restoredContextTokens: result.restoredContextTokens,
        });
      } catch (err) {
        const code = err instanceof Error && 'code' in err ? String(err.code) : 'CLIENT_ERROR';
        this.outcomes.push({ ...sent, latencyMs: performance.now() - started, code });
        return;
      }
    }
  }
}
