import type { SessionRecord } from '@switchyard/protocol';

/** A session record with the store revision it was read at. */
export interface VersionedRecord {
  readonly record: SessionRecord;
  readonly revision: number;
}

/** Outcome of a conditional write: the new revision, or why it was refused. */
export type WriteOutcome =
  | { readonly ok: true; readonly revision: number }
  | { readonly ok: false; readonly reason: 'conflict' | 'error'; readonly message: string };

/**
 * Durable session ownership records. Every write is conditional: `create` only if absent, `update`
 * only if the record is still at `expectedRevision`. That is the fence: a scheduler acting on a stale
 * read can never overwrite a newer owner. Implemented over NATS KV in the adapter.
 */
export interface SessionStore {
  get(sessionId: string): Promise<VersionedRecord | undefined>;
  create(record: SessionRecord): Promise<WriteOutcome>;
  update(record: SessionRecord, expectedRevision: number): Promise<WriteOutcome>;
  /** Every record (for a scheduler rebuilding its view at start). */
  all(): Promise<VersionedRecord[]>;
}
