import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of one latency series, in milliseconds (NaN when nothing was recorded). */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Samples below 1 µs (e.g. a hop that came out negative across two clocks), recorded as 1 µs. */
  readonly clampedLow: number;
  /** Samples above the recorder's range (one hour), recorded as its upper bound. */
  readonly clampedHigh: number;
}

/** Largest value a recorder keeps exactly: one hour in microseconds. */
export const MAX_RECORDABLE_US = 3_600_000_000;

/**
 * An HDR latency histogram: Node's `perf_hooks.createHistogram()` (HdrHistogram underneath, three
 * significant figures) over integer microseconds, so percentiles cost O(buckets) whatever the
 * number of samples and two recorders merge exactly. The C histogram silently ignores values out of
 * its range; this wrapper clamps them and counts them instead, so no sample is ever lost.
 */
export class LatencyRecorder {
  private readonly histogram: RecordableHistogram = createHistogram({
    lowest: 1,
    highest: MAX_RECORDABLE_US,
    figures: 3,
  });
  private clampedLow = 0;
  private clampedHigh = 0;

  /** Records one latency in milliseconds (fractions kept to the microsecond). */
  recordMs(latencyMs: number): void {
    if (Number.isNaN(latencyMs)) throw new RangeError('cannot record a NaN latency');
    const us = Math.round(latencyMs * 1000);
    if (us < 1) {
      this.clampedLow++;
      this.histogram.record(1);
    } else if (us > MAX_RECORDABLE_US) {
      this.clampedHigh++;
      this.histogram.record(MAX_RECORDABLE_US);
    } else {
      this.histogram.record(us);
    }
  }

  /** Adds every sample of `other` to this recorder (other is unchanged). */
  merge(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.clampedLow += other.clampedLow;
    this.clampedHigh += other.clampedHigh;
  }

  get count(): number {
    return this.histogram.count;
  }

  /** The latency at percentile `p` (0–100], in milliseconds; NaN when empty. */
  percentileMs(p: number): number {
    if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
    return this.histogram.count === 0 ? Number.NaN : this.histogram.percentile(p) / 1000;
  }

  summary(): LatencySummary {
    const empty = this.histogram.count === 0;
    return {
      count: this.histogram.count,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: empty ? Number.NaN : this.histogram.max / 1000,
      meanMs: empty ? Number.NaN : this.histogram.mean / 1000,
      clampedLow: this.clampedLow,
      clampedHigh: this.clampedHigh,
    };
  }
}
