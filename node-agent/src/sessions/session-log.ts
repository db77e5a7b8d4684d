import { type JetStreamClient, type JetStreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { decode, encode, SESSION_LOG_STREAM, SessionLogEntry, subjects } from '@switchyard/protocol';

/** A session's turn log as read back from JetStream. */
export interface LoadedLog {
  readonly entries: SessionLogEntry[];
  /** Stream sequence of the last entry (0 when empty): the expectation for the next append. */
  readonly lastSequence: number;
}

export type AppendOutcome =
  | { readonly ok: true; readonly sequence: number; readonly duplicate: boolean }
  | { readonly ok: false; readonly reason: 'not-owner' | 'error'; readonly message: string };

/** Thrown when a log entry in the stream does not decode: the durable state is not what we wrote. */
export class SessionLogCorruptError extends Error {
  override readonly name = 'SessionLogCorruptError';
}

/**
 * The durable turn log of sessions, one JetStream subject per session. Appends carry the
 * de-duplication id `<sessionId>:<turnKey>` and the expectation that the subject's last sequence
 * is the one this owner knows: a node that lost ownership (another appended since) is refused.
 */
export class SessionLog {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Reads every entry of a session in order (direct gets by subject; the stream allows direct access). */
  async load(sessionId: string): Promise<LoadedLog> {
    const subject = subjects.sessionLog(sessionId);
    const entries: SessionLogEntry[] = [];
    let lastSequence = 0;
    for (let seq = 1; ;) {
      const stored = await this.jsm.direct.getMessage(SESSION_LOG_STREAM, { seq, next_by_subj: subject });
      if (stored === null) break;
      const decoded = decode(SessionLogEntry, stored.data);
      if (!decoded.ok) {
        throw new SessionLogCorruptError(`log entry ${stored.seq} of session ${sessionId}: ${decoded.error.message}`);
      }
      entries.push(decoded.value);
      lastSequence = stored.seq;
      seq = stored.seq + 1;
    }
    return { entries, lastSequence };
  }

  /** Appends one turn if `expectedLastSequence` is still the subject's last; see the class comment. */
  async append(entry: SessionLogEntry, expectedLastSequence: number): Promise<AppendOutcome> {
    try {
      const ack = await this.js.publish(subjects.sessionLog(entry.sessionId), encode(entry), {
        msgID: `${entry.sessionId}:${entry.turnKey}`,
        expect: { lastSubjectSequence: expectedLastSequence },
      });
      return { ok: true, sequence: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
        return { ok: false, reason: 'not-owner', message: err.message };
      }
      return { ok: false, reason: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  }
}
