/**
 * Lease timing, judged only with this process's own clock (clocks of different machines are never
 * compared). The leader renews every quarter lease and stops serving when it has not managed to
 * renew for half a lease; a standby claims once it has seen no renewal for three quarters of a
 * lease. So a leader that cannot renew has stopped a quarter lease before anyone may claim, and a
 * dead leader is replaced within a lease of its death (three quarters, plus one standby poll).
 */
export class LeaseClock {
  private lastRevision: number | undefined;
  private lastChangeMs = Number.NEGATIVE_INFINITY;
  private lastRenewalMs = Number.NEGATIVE_INFINITY;

  constructor(readonly leaseMs: number) {
    if (!(leaseMs > 0)) throw new RangeError(`leaseMs must be positive, got ${leaseMs}`);
  }

  /** How often the leader renews. */
  get renewIntervalMs(): number {
    return this.leaseMs / 4;
  }

  /** How often a standby reads the lease. */
  get pollIntervalMs(): number {
    return this.leaseMs / 8;
  }

  /** A standby read the record at `revision` (undefined: no record). */
  observe(revision: number | undefined, nowMs: number): void {
    if (revision !== this.lastRevision) {
      this.lastRevision = revision;
      this.lastChangeMs = nowMs;
    }
  }

  /** Whether the holder has stopped renewing (or there is no record): time to claim. */
  claimable(nowMs: number): boolean {
    return this.lastRevision === undefined || nowMs - this.lastChangeMs >= (this.leaseMs * 3) / 4;
  }

  /** The leader renewed at `nowMs`. */
  renewed(nowMs: number, revision: number): void {
    this.lastRenewalMs = nowMs;
    this.lastRevision = revision;
    this.lastChangeMs = nowMs;
  }

  /** Whether a leader has failed to renew for half a lease: it must stop acting as leader. */
  expiredForLeader(nowMs: number): boolean {
    return nowMs - this.lastRenewalMs >= this.leaseMs / 2;
  }
}
