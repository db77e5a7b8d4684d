import type { SessionRecord } from '@switchyard/protocol';

/**
 * The scheduler's in-memory index of sessions: who owns what, how many each tenant has open.
 * A cache of the durable store (which is the truth); kept small because it holds every session
 * (target: ≤ 1 KiB per idle session, 1M sessions in under 1 GiB): records are the decoded store
 * values themselves, and the per-owner index holds ids only.
 */
export class SessionRegistry {
  private readonly byId = new Map<string, { record: SessionRecord; revision: number }>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly openByTenant = new Map<string, number>();

  get size(): number {
    return this.byId.size;
  }

  get(sessionId: string): { record: SessionRecord; revision: number } | undefined {
    return this.byId.get(sessionId);
  }

  /** Stores the latest known record (ignores one older than what is held). */
  put(record: SessionRecord, revision: number): void {
    const previous = this.byId.get(record.sessionId);
    if (previous !== undefined) {
      if (previous.revision > revision) return;
      this.unindex(previous.record);
    }
    this.byId.set(record.sessionId, { record, revision });
    this.index(record);
  }

  remove(sessionId: string): void {
    const previous = this.byId.get(sessionId);
    if (previous === undefined) return;
    this.unindex(previous.record);
    this.byId.delete(sessionId);
  }

  /** Ids of the sessions `nodeId` owns. */
  ownedBy(nodeId: string): string[] {
    return [...(this.byOwner.get(nodeId) ?? [])];
  }

  /** Sessions of `tenant` not closed. */
  openCount(tenant: string): number {
    return this.openByTenant.get(tenant) ?? 0;
  }

  /** Sessions of a tenant, newest first, up to `limit`. */
  list(tenant: string, limit: number): { total: number; records: SessionRecord[] } {
    const records: SessionRecord[] = [];
    let total = 0;
    for (const { record } of this.byId.values()) {
      if (record.tenant !== tenant) continue;
      total++;
      records.push(record);
    }
    records.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return { total, records: records.slice(0, limit) };
  }

  /** Every unclosed session whose owner is null or not in `liveNodes` (e.g. after a restart). */
  orphans(isLive: (nodeId: string) => boolean): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const { record } of this.byId.values()) {
      if (record.state === 'closed') continue;
      if (record.ownerNodeId === null || !isLive(record.ownerNodeId)) out.push(record);
    }
    return out;
  }

  private index(record: SessionRecord): void {
    if (record.ownerNodeId !== null && record.state !== 'closed') {
      let owned = this.byOwner.get(record.ownerNodeId);
      if (owned === undefined) {
        owned = new Set();
        this.byOwner.set(record.ownerNodeId, owned);
      }
      owned.add(record.sessionId);
    }
    if (record.state !== 'closed') this.openByTenant.set(record.tenant, this.openCount(record.tenant) + 1);
  }

  private unindex(record: SessionRecord): void {
    if (record.ownerNodeId !== null) {
      const owned = this.byOwner.get(record.ownerNodeId);
      owned?.delete(record.sessionId);
      if (owned?.size === 0) this.byOwner.delete(record.ownerNodeId);
    }
    if (record.state !== 'closed') {
      const count = this.openCount(record.tenant) - 1;
      if (count > 0) this.openByTenant.set(record.tenant, count);
      else this.openByTenant.delete(record.tenant);
    }
  }
}
