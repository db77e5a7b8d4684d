/** Tags within this distance are equal: they are sums of 1/weight and carry rounding error. */
const TAG_EPSILON = 1e-9;

interface TenantState {
  /** Finish tag of the tenant's newest request. */
  lastFinish: number;
  /** The tenant's requests that hold a tag and have not been served or withdrawn. */
  waiting: number;
  readonly weight: number;
}

/**
 * Weighted fair queueing between the tenants of one SLO class, self-clocked (SCFQ, Golestani
 * 1994). Every request costs one admitted slot. A request from tenant t arriving at virtual time
 * V gets the finish tag F = max(V, F_last(t)) + 1 / w(t); requests are served in increasing F,
 * and serving one moves V up to its tag. A backlogged tenant therefore gets slots in proportion
 * to its weight, and a tenant that floods only pushes its own tags further out: a newcomer
 * starts at V, ahead of the flood's tail. Pure: no clock, no I/O.
 */
export class FairShare {
  private virtualTime = 0;
  private readonly tenants = new Map<string, TenantState>();
  private waitingTotal = 0;

  constructor(private readonly weightOf: (tenant: string) => number) {}

  /** Requests holding a tag, not yet served or withdrawn. */
  get waiting(): number {
    return this.waitingTotal;
  }

  /** The virtual time: the largest tag served so far. */
  get now(): number {
    return this.virtualTime;
  }

  /** The tag a request from `tenant` would get now; changes nothing. */
  peek(tenant: string): number {
    const state = this.tenants.get(tenant);
    const weight = state?.weight ?? this.weightOf(tenant);
    return Math.max(this.virtualTime, state?.lastFinish ?? 0) + 1 / weight;
  }

  /** Gives a request from `tenant` its finish tag and counts it as waiting. */
  enqueue(tenant: string): number {
    let state = this.tenants.get(tenant);
    if (state === undefined) {
      state = { lastFinish: 0, waiting: 0, weight: this.weightOf(tenant) };
      this.tenants.set(tenant, state);
    }
    const tag = Math.max(this.virtualTime, state.lastFinish) + 1 / state.weight;
    state.lastFinish = tag;
    state.waiting++;
    this.waitingTotal++;
    return tag;
  }

  /** A waiting request of `tenant` with finish tag `tag` was served (placed): virtual time moves up to it. */
  served(tenant: string, tag: number): void {
    if (tag > this.virtualTime) this.virtualTime = tag;
    this.leave(tenant);
  }

  /** A waiting request of `tenant` left without being served (refused, expired, cancelled). */
  withdrawn(tenant: string): void {
    this.leave(tenant);
  }

  /**
   * How many waiting requests are served before one with finish tag `tag`. A tenant's waiting
   * tags are taken to be consecutive (1/w apart, ending at its last tag), which they are while
   * it stays backlogged; O(tenants with waiting work).
   */
  ahead(tag: number): number {
    let count = 0;
    for (const state of this.tenants.values()) {
      if (state.waiting === 0) continue;
      const step = 1 / state.weight;
      const first = state.lastFinish - (state.waiting - 1) * step;
      if (tag + TAG_EPSILON < first) continue;
      count += Math.min(state.waiting, Math.floor((tag - first) / step + TAG_EPSILON) + 1);
    }
    return count;
  }

  private leave(tenant: string): void {
    const state = this.tenants.get(tenant);
    if (state === undefined || state.waiting === 0) return;
    state.waiting--;
    this.waitingTotal--;
    // A tenant with nothing waiting would restart at V anyway (its served tags are ≤ V), and the
    // tags of its withdrawn requests must not count against it later; so it is forgotten, and
    // it stays forgotten until it sends again, which keeps the map bounded by tenants with work waiting.
    if (state.waiting === 0) this.tenants.delete(tenant);
  }
}

/** p-queue serves the highest `priority` first; fair share serves the smallest finish tag first. */
export function queuePriority(tag: number): number {
  return -tag;
}
