import { randomBytes } from 'node:crypto';
import { type Msg, type NatsConnection, RequestError, type Subscription, TimeoutError } from '@nats-io/transport-node';
import {
  type Assignment,
  AssignmentReply,
  connectionInbox,
  decode,
  encode,
  ErrorReply,
  PowerLimitAck,
  type PowerLimitCommand,
  type SessionAdopt,
  SessionAdoptReply,
  type SessionRelease,
  subjects,
} from '@switchyard/protocol';
import type { AssignFailure, Logger, SchedulerOutbox } from '../../service/ports.js';

interface PendingAck {
  readonly nodeId: string;
  readonly expiresAtMs: number;
  readonly timeoutMs: number;
  readonly resolve: (reply: AssignmentReply | AssignFailure) => void;
}

/** How often expired acknowledgements are swept; the timeout's precision. */
const ACK_SWEEP_MS = 25;

/**
 * The scheduler's outbound side over NATS core. Assignments are published with a reply subject
 * under one inbox the scheduler subscribes to once, instead of `nc.request()` per assignment:
 * nats.js builds two Error objects (with stack traces) per request, which was half the cost of the
 * scheduler hop. Timeouts are swept in arrival order (all share one timeout, so the oldest expire
 * first), and nats-server's 503 status tells us at once that no agent listens. Never throws.
 */
export class NatsOutbox implements SchedulerOutbox {
  private readonly inbox: string;
  private readonly pending = new Map<string, PendingAck>();
  private readonly subscription: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;
  private firstTimeoutMs: number | undefined;
  private mixedTimeouts = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    this.inbox = connectionInbox(nc);
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err === null) this.onAck(msg);
      },
    });
    this.sweeper = setInterval(() => this.expire(Date.now()), ACK_SWEEP_MS);
    this.sweeper.unref();
  }

  publish(subject: string, message: object): void {
    try {
      this.nc.publish(subject, encode(message));
    } catch (err) {
      this.log.error({ subject, err: errorMessage(err) }, 'publish failed');
    }
  }

  assign(nodeId: string, assignment: Assignment, timeoutMs: number): Promise<AssignmentReply | AssignFailure> {
    // Unguessable: an agent sees this inbox in every assignment, and must not answer for another node's.
    const token = `${(++this.seq).toString(36)}${randomBytes(6).toString('hex')}`;
    this.firstTimeoutMs ??= timeoutMs;
    if (timeoutMs !== this.firstTimeoutMs) this.mixedTimeouts = true;
    return new Promise((resolve) => {
      this.pending.set(token, { nodeId, expiresAtMs: Date.now() + timeoutMs, timeoutMs, resolve });
      try {
        this.nc.publish(subjects.assign(nodeId), encode(assignment), { reply: `${this.inbox}.${token}` });
      } catch (err) {
        this.pending.delete(token);
        resolve({ ok: false, transport: 'disconnected', message: errorMessage(err) });
      }
    });
  }

  adoptSession(nodeId: string, adopt: SessionAdopt, timeoutMs: number): Promise<SessionAdoptReply | AssignFailure> {
    return this.control(subjects.nodeSession(nodeId, 'adopt'), nodeId, adopt, timeoutMs, sessionReply);
  }

  releaseSession(
    nodeId: string,
    release: SessionRelease,
    timeoutMs: number,
  ): Promise<SessionAdoptReply | AssignFailure> {
    return this.control(subjects.nodeSession(nodeId, 'release'), nodeId, release, timeoutMs, sessionReply);
  }

  setPowerLimit(
    nodeId: string,
    command: PowerLimitCommand,
    timeoutMs: number,
  ): Promise<PowerLimitAck | AssignFailure | ErrorReply> {
    return this.control(subjects.nodePower(nodeId), nodeId, command, timeoutMs, (data) =>
      powerLimitReply(nodeId, data),
    );
  }

  /** Node control (session opens, moves and closes; power limits) is rare: plain request/reply is fine here. */
  private async control<R>(
    subject: string,
    nodeId: string,
    body: object,
    timeoutMs: number,
    parse: (data: Uint8Array) => R | AssignFailure,
  ): Promise<R | AssignFailure> {
    try {
      const reply = await this.nc.request(subject, encode(body), { timeout: timeoutMs });
      return parse(reply.data);
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) {
        return { ok: false, transport: 'no-responders', message: `node ${nodeId} is not listening` };
      }
      if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
        return { ok: false, transport: 'timeout', message: `node ${nodeId} did not answer within ${timeoutMs} ms` };
      }
      return { ok: false, transport: 'disconnected', message: errorMessage(err) };
    }
  }

  /** Stops listening for acknowledgements; open ones are answered as disconnected. */
  close(): void {
    clearInterval(this.sweeper);
    this.subscription.unsubscribe();
    for (const ack of this.pending.values())
      ack.resolve({ ok: false, transport: 'disconnected', message: 'scheduler stopping' });
    this.pending.clear();
  }

  private onAck(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const ack = this.pending.get(token);
    if (ack === undefined) return; // late: already timed out
    this.pending.delete(token);
    if (msg.headers?.hasError === true) {
      const noResponders = msg.headers.code === 503;
      ack.resolve({
        ok: false,
        transport: noResponders ? 'no-responders' : 'disconnected',
        message: noResponders
          ? `node ${ack.nodeId} is not listening`
          : `${msg.headers.code} ${msg.headers.description}`,
      });
      return;
    }
    const decoded = decode(AssignmentReply, msg.data);
    ack.resolve(
      decoded.ok
        ? decoded.value
        : { ok: false, transport: 'invalid-reply', message: `${decoded.error.code}: ${decoded.error.message}` },
    );
  }

  private expire(nowMs: number): void {
    for (const [token, ack] of this.pending) {
      if (ack.expiresAtMs > nowMs) {
        // Entries are in send order: while every assignment uses the same timeout, the first
        // unexpired one means all later ones are unexpired too.
        if (!this.mixedTimeouts) break;
        continue;
      }
      this.pending.delete(token);
      ack.resolve({
        ok: false,
        transport: 'timeout',
        message: `node ${ack.nodeId} did not answer within ${ack.timeoutMs} ms`,
      });
    }
  }
}

function sessionReply(data: Uint8Array): SessionAdoptReply | AssignFailure {
  const decoded = decode(SessionAdoptReply, data);
  if (decoded.ok) return decoded.value;
  return { ok: false, transport: 'invalid-reply', message: `${decoded.error.code}: ${decoded.error.message}` };
}

/** The node's ack or refusal; an ack naming another node is as good as garbage (a miswired responder). */
function powerLimitReply(nodeId: string, data: Uint8Array): PowerLimitAck | ErrorReply | AssignFailure {
  const ack = decode(PowerLimitAck, data);
  if (ack.ok) {
    if (ack.value.nodeId === nodeId) return ack.value;
    return {
      ok: false,
      transport: 'invalid-reply',
      message: `power limit ack for ${nodeId} names ${ack.value.nodeId}`,
    };
  }
  const refusal = decode(ErrorReply, data);
  if (refusal.ok) return refusal.value;
  return { ok: false, transport: 'invalid-reply', message: `${ack.error.code}: ${ack.error.message}` };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
