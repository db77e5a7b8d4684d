/** Below this many (decayed) departures the meter knows nothing yet. */
const MIN_EVIDENCE = 1e-6;

/**
 * How fast a queue drains: placements of waiting requests per millisecond of backlog. Only time
 * with a backlog counts (an idle queue says nothing about its service rate), and both sums decay
 * with a half-life, so the figure follows load changes yet survives bursts (ten placements in one
 * capacity pass, then a pause). While nothing leaves a backlogged queue its busy time still grows,
 * so the predicted wait of a stalled queue grows with it. Pure: the caller passes the clock.
 */
export class DrainRate {
  private departures = 0;
  private busyMs = 0;
  private backlog = 0;
  private lastMs: number | undefined;

  constructor(private readonly halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new RangeError(`drain rate: halfLifeMs must be > 0, got ${halfLifeMs}`);
  }

  /** The number of waiting requests changed to `backlog` at `nowMs`. */
  setBacklog(nowMs: number, backlog: number): void {
    this.advance(nowMs);
    this.backlog = backlog;
  }

  /** A waiting request was placed at `nowMs`. */
  departed(nowMs: number): void {
    this.advance(nowMs);
    this.departures += 1;
  }

  /** Mean time between departures while backlogged, or undefined before the first departure. */
  intervalMs(nowMs: number): number | undefined {
    const decay = this.decaySince(nowMs);
    const departures = this.departures * decay;
    return departures < MIN_EVIDENCE ? undefined : (this.busyMs * decay + this.accruedSince(nowMs, decay)) / departures;
  }

  /** Departures per second while backlogged (0 before the first). */
  perSecond(nowMs: number): number {
    const interval = this.intervalMs(nowMs);
    if (interval === undefined) return 0;
    return interval > 0 ? 1000 / interval : Number.POSITIVE_INFINITY;
  }

  /** Time until `position` more departures have happened (the request at that place leaves), if known. */
  predictWaitMs(position: number, nowMs: number): number | undefined {
    const interval = this.intervalMs(nowMs);
    return interval === undefined ? undefined : position * interval;
  }

  /** Factor by which sums recorded at the last event have decayed by `nowMs`. */
  private decaySince(nowMs: number): number {
    if (this.lastMs === undefined || nowMs <= this.lastMs) return 1;
    return 2 ** (-(nowMs - this.lastMs) / this.halfLifeMs);
  }

  /** Busy time accrued since the last event, decayed as it accrued: ∫ 2^(−(gap − t)/h) dt over the gap. */
  private accruedSince(nowMs: number, decay: number): number {
    if (this.backlog === 0 || this.lastMs === undefined || nowMs <= this.lastMs) return 0;
    return ((1 - decay) * this.halfLifeMs) / Math.LN2;
  }

  private advance(nowMs: number): void {
    const decay = this.decaySince(nowMs);
    this.busyMs = this.busyMs * decay + this.accruedSince(nowMs, decay);
    this.departures *= decay;
    if (this.lastMs === undefined || nowMs > this.lastMs) this.lastMs = nowMs;
  }
}
