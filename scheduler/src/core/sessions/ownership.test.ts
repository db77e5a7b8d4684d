import type { SessionRecord } from '@switchyard/protocol';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChange, changeOwnership, type OwnershipChange } from './ownership.js';
import type { SessionStore, VersionedRecord, WriteOutcome } from './session-store.js';

const base: SessionRecord = {
  v: 1,
  sessionId: 's-1',
  tenant: 't',
  model: 'llama-3.1-8b',
  state: 'open',
  ownerNodeId: 'a',
  contextTokens: 0,
  expectedContextTokens: 100,
  turns: 0,
  createdAtMs: 0,
  turnSubject: 'sy.v1.tenant.t.session.s-1.turn',
};

/** NATS KV's documented compare-and-set semantics, in memory, recording every accepted write. */
class CasStore implements SessionStore {
  private current: VersionedRecord | undefined;
  readonly history: VersionedRecord[] = [];

  constructor(initial: SessionRecord) {
    this.current = { record: initial, revision: 1 };
    this.history.push(this.current);
  }

  get(): Promise<VersionedRecord | undefined> {
    return Promise.resolve(this.current);
  }

  create(): Promise<WriteOutcome> {
    return Promise.resolve({ ok: false, reason: 'conflict', message: 'exists' });
  }

  update(record: SessionRecord, expectedRevision: number): Promise<WriteOutcome> {
    if (this.current?.revision !== expectedRevision)
      return Promise.resolve({ ok: false, reason: 'conflict', message: 'wrong last sequence' });
    this.current = { record, revision: expectedRevision + 1 };
    this.history.push(this.current);
    return Promise.resolve({ ok: true, revision: this.current.revision });
  }

  all(): Promise<VersionedRecord[]> {
    return Promise.resolve(this.current === undefined ? [] : [this.current]);
  }
}

const nodes = fc.constantFrom('a', 'b', 'c', 'd');
const change: fc.Arbitrary<OwnershipChange> = fc.oneof(
  nodes.map((fromNodeId) => ({ kind: 'detach' as const, fromNodeId })),
  nodes.map((toNodeId) => ({ kind: 'attach' as const, toNodeId })),
  fc.constant({ kind: 'close' as const }),
);

describe('session ownership fencing', () => {
  it.each([
    [
      'closed sessions never change',
      { ...base, state: 'closed' as const },
      { kind: 'attach' as const, toNodeId: 'b' },
      'closed',
    ],
    ['a move starts only from the current owner', base, { kind: 'detach' as const, fromNodeId: 'b' }, 'owner-changed'],
    [
      'an owned session cannot be attached elsewhere',
      base,
      { kind: 'attach' as const, toNodeId: 'b' },
      'owner-changed',
    ],
    [
      'attaching the same owner again is a no-op refusal',
      base,
      { kind: 'attach' as const, toNodeId: 'a' },
      'already-owned',
    ],
  ])('%s', (_name, record, intent, refusal) => {
    expect(applyChange(record, intent)).toBe(refusal);
  });

  it('under any interleaving of writers with stale views, history is linear and every write was valid for the record it replaced', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.tuple(change, fc.boolean()), { minLength: 1, maxLength: 12 }),
        async (s, intents) => {
          const store = new CasStore(base);
          const stale = await store.get();
          // Each writer may act on the initial (soon stale) read, or read fresh; the scheduler interleaves their I/O.
          const scheduled: SessionStore = {
            get: s.scheduleFunction(() => store.get()),
            create: () => store.create(),
            update: s.scheduleFunction((record: SessionRecord, revision: number) => store.update(record, revision)),
            all: () => store.all(),
          };
          const runs = intents.map(([intent, useStale]) =>
            changeOwnership(scheduled, 's-1', intent, useStale ? stale : undefined),
          );
          await s.waitAll();
          await Promise.all(runs);
          for (let i = 1; i < store.history.length; i++) {
            const before = store.history[i - 1]!;
            const after = store.history[i]!;
            expect(after.revision).toBe(before.revision + 1);
            // The accepted write is exactly what the rules allow from the record it replaced: no stale overwrite.
            const allowed = intents.some(([intent]) => {
              const next = applyChange(before.record, intent);
              return typeof next !== 'string' && JSON.stringify(next) === JSON.stringify(after.record);
            });
            expect(allowed).toBe(true);
            expect(before.record.state !== 'closed' || after.record.state === 'closed').toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a mover whose view is stale re-reads and gives up when another move already happened', async () => {
    const store = new CasStore(base);
    const stale = await store.get();
    expect(await changeOwnership(store, 's-1', { kind: 'detach', fromNodeId: 'a' })).toMatchObject({ ok: true });
    expect(await changeOwnership(store, 's-1', { kind: 'attach', toNodeId: 'b' })).toMatchObject({ ok: true });
    const late = await changeOwnership(store, 's-1', { kind: 'detach', fromNodeId: 'a' }, stale);
    expect(late).toMatchObject({ ok: false, reason: 'owner-changed' });
    expect((await store.get())?.record.ownerNodeId).toBe('b');
  });
});
