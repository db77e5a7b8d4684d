import type { SessionRecord } from '@switchyard/protocol';
import type { SessionStore, VersionedRecord, WriteOutcome } from './session-store.js';

/** A change to a session's ownership record, decided from the record as read. */
export type OwnershipChange =
  /** Start a move: no owner while the session is re-placed. Only from the owner named. */
  | { readonly kind: 'detach'; readonly fromNodeId: string }
  /** Finish a move (or an open): `toNodeId` owns it now. Only while the session is unowned. */
  | { readonly kind: 'attach'; readonly toNodeId: string }
  /** Close: terminal. */
  | { readonly kind: 'close' };

/** Why a change does not apply to the record as it stands (so no write is attempted). */
export type Refusal = 'closed' | 'owner-changed' | 'already-owned';

/**
 * The ownership rules, pure: a closed session never changes again; a move starts only from the
 * owner the mover believes is current; a new owner is set only on an unowned session. Applied to
 * the latest record and written with compare-and-set, they make ownership changes linearizable:
 * the first writer wins and every other writer re-reads and finds its intent no longer applies.
 */
export function applyChange(record: SessionRecord, change: OwnershipChange): SessionRecord | Refusal {
  if (record.state === 'closed') return 'closed';
  if (change.kind === 'detach') {
    if (record.ownerNodeId !== change.fromNodeId) return 'owner-changed';
    return { ...record, ownerNodeId: null, state: 'migrating' };
  }
  if (change.kind === 'attach') {
    if (record.ownerNodeId !== null) return record.ownerNodeId === change.toNodeId ? 'already-owned' : 'owner-changed';
    return { ...record, ownerNodeId: change.toNodeId, state: 'open' };
  }
  return { ...record, state: 'closed' };
}

/** The result of a fenced change: the record written, or the refusal with the record that caused it. */
export type ChangeOutcome =
  | { readonly ok: true; readonly current: VersionedRecord }
  | {
      readonly ok: false;
      readonly reason: Refusal | 'not-found' | 'error';
      readonly current?: VersionedRecord;
      readonly message?: string;
    };

/**
 * Reads, applies and writes with compare-and-set, re-reading after a lost race (up to `attempts`),
 * so that a change decided on a stale view is re-decided on the newer record instead of overwriting it.
 */
export async function changeOwnership(
  store: SessionStore,
  sessionId: string,
  change: OwnershipChange,
  known?: VersionedRecord,
  attempts = 5,
): Promise<ChangeOutcome> {
  let current = known ?? (await store.get(sessionId));
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (current === undefined) return { ok: false, reason: 'not-found' };
    const next = applyChange(current.record, change);
    if (typeof next === 'string') return { ok: false, reason: next, current };
    const written: WriteOutcome = await store.update(next, current.revision);
    if (written.ok) return { ok: true, current: { record: next, revision: written.revision } };
    if (written.reason === 'error') return { ok: false, reason: 'error', current, message: written.message };
    current = await store.get(sessionId);
  }
  return { ok: false, reason: 'error', message: `gave up after ${attempts} conflicting writes` };
}
