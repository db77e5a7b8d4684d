import { type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, SESSION_KV_BUCKET, SESSION_LOG_STREAM, SessionRecord, subjects } from '@switchyard/protocol';
import type { SessionStore, VersionedRecord, WriteOutcome } from '../../core/sessions/session-store.js';
import type { Logger } from '../../service/ports.js';

const NANOS_PER_MS = 1_000_000;

/** Session ownership records in a NATS KV bucket (file storage); every write is compare-and-set. */
export class KvSessionStore implements SessionStore {
  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if needed) the ownership bucket and the turn-log stream sessions rely on. */
  static async open(nc: NatsConnection, jsm: JetStreamManager, log: Logger): Promise<KvSessionStore> {
    await ensureSessionLogStream(jsm);
    const kv = await new Kvm(nc).create(SESSION_KV_BUCKET, { history: 1, storage: StorageType.File });
    return new KvSessionStore(kv, log);
  }

  async get(sessionId: string): Promise<VersionedRecord | undefined> {
    const entry = await this.kv.get(sessionId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const decoded = decode(SessionRecord, entry.value);
    if (!decoded.ok) {
      this.log.error({ sessionId, reason: decoded.error.message }, 'undecodable session record ignored');
      return undefined;
    }
    return { record: decoded.value, revision: entry.revision };
  }

  async create(record: SessionRecord): Promise<WriteOutcome> {
    try {
      return { ok: true, revision: await this.kv.create(record.sessionId, encode(record)) };
    } catch (err) {
      return failure(err);
    }
  }

  async update(record: SessionRecord, expectedRevision: number): Promise<WriteOutcome> {
    try {
      return { ok: true, revision: await this.kv.update(record.sessionId, encode(record), expectedRevision) };
    } catch (err) {
      return failure(err);
    }
  }

  async all(): Promise<VersionedRecord[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const records = await Promise.all(keys.map((key) => this.get(key)));
    return records.filter((r): r is VersionedRecord => r !== undefined);
  }
}

function failure(err: unknown): WriteOutcome {
  const message = err instanceof Error ? err.message : String(err);
  // The server's answer to a failed expectation ("wrong last sequence") or to create-on-existing.
  const conflict = /wrong last sequence|key exists|already exists/i.test(message);
  return { ok: false, reason: conflict ? 'conflict' : 'error', message };
}

/** Creates or updates the stream of session turn logs: file storage, direct gets, 2 min de-duplication. */
export async function ensureSessionLogStream(jsm: JetStreamManager): Promise<void> {
  const config = {
    name: SESSION_LOG_STREAM,
    subjects: [subjects.anySessionLog],
    storage: StorageType.File,
    allow_direct: true,
    duplicate_window: 120_000 * NANOS_PER_MS,
  };
  try {
    await jsm.streams.info(SESSION_LOG_STREAM);
    await jsm.streams.update(SESSION_LOG_STREAM, config);
  } catch {
    await jsm.streams.add(config);
  }
}
