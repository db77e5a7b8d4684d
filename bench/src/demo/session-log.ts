import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, SESSION_LOG_STREAM, SessionLogEntry, subjects } from '@switchyard/protocol';

/** Reads a session's turn log straight from JetStream, as an auditor would (demo audit, tests, benches). */
export async function readLogOf(nc: NatsConnection, sessionId: string): Promise<SessionLogEntry[]> {
  const jsm = await jetstreamManager(nc);
  const entries: SessionLogEntry[] = [];
  for (let seq = 1; ;) {
    const stored = await jsm.direct.getMessage(SESSION_LOG_STREAM, {
      seq,
      next_by_subj: subjects.sessionLog(sessionId),
    });
    if (stored === null) return entries;
    const decoded = decode(SessionLogEntry, stored.data);
    if (!decoded.ok) throw new Error(decoded.error.message);
    entries.push(decoded.value);
    seq = stored.seq + 1;
  }
}
