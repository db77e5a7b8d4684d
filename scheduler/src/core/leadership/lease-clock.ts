/**
 * Lease timing, judged only with this process's own clock (clocks of different machines are never
 * compared): a standby notes when it last saw the lease record change; the leader notes when it
 * last renewed it. The leader steps down after `leaseMs` without a renewal, and a standby claims
 * after `leaseMs` without a change, so the two never both act as leader while the lease holds.
 */
export class LeaseClock {
  private lastRevision: number | undefined;
  private lastChangeMs = Number.NEGATIVE_INFINITY;
  private lastRenewalMs = Number.NEGATIVE_INFINITY;

  constructor(readonly leaseMs: number) {
    if (!(leaseMs > 0)) throw new RangeError(`leaseMs must be positive, got ${leaseMs}`);
  }

  /** A standby read the record at `revision` (undefined: no record). */
  observe(revision: number | undefined, nowMs: number): void {
    if (revision !== this.lastRevision) {
      this.lastRevision = revision;
      this.lastChangeMs = nowMs;
    }
  }

  /** Whether the holder has not renewed for a whole lease (or there is no record): time to claim. */
  claimable(nowMs: number): boolean {
    return this.lastRevision === undefined || nowMs - this.lastChangeMs >= this.leaseMs;
  }

  /** The leader renewed at `nowMs`. */
  renewed(nowMs: number, revision: number): void {
    this.lastRenewalMs = nowMs;
    this.lastRevision = revision;
    this.lastChangeMs = nowMs;
  }

  /** Whether a leader has gone a whole lease without renewing: it must stop acting as leader. */
  expiredForLeader(nowMs: number): boolean {
    return nowMs - this.lastRenewalMs >= this.leaseMs;
  }
}
