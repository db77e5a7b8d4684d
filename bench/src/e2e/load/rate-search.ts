/** What one trial at a fixed rate measured, as far as the search cares. */
export interface TrialMeasurement {
  /** The gated p99 (e2e or scheduler hop) in ms; NaN when nothing was answered. */
  readonly p99Ms: number;
  /** (errors + client timeouts) / sent; 0 when nothing was sent. */
  readonly failureShare: number;
}

/** One trial and its verdict. */
export interface RateTrial extends TrialMeasurement {
  readonly ratePerS: number;
  readonly held: boolean;
  /** Why it did not hold. */
  readonly reason?: string;
}

export interface RateSearchOptions {
  /** First rate tried. */
  readonly startRatePerS: number;
  /** Never try above this; reaching it and holding ends the search there. */
  readonly maxRatePerS: number;
  /** The gated p99 must stay at or under this. */
  readonly p99TargetMs: number;
  /** Errors and timeouts may be at most this share of requests (default 0.01). */
  readonly maxFailureShare?: number;
  /** Rate multiplier while every trial holds (default 2). */
  readonly growthFactor?: number;
  /** Bisection trials between the last rate that held and the first that broke (default 3). */
  readonly refineSteps?: number;
  /** Stop bisecting once the bracket is narrower than this share of its upper end (default 0.05). */
  readonly tolerance?: number;
}

export interface RateSearchResult {
  /** The highest rate that held; undefined when none did. */
  readonly maxSustainableRatePerS: number | undefined;
  /** The lowest rate seen to break; undefined when none did (the search stopped at maxRatePerS). */
  readonly brokeAtRatePerS: number | undefined;
  readonly p99TargetMs: number;
  readonly maxFailureShare: number;
  /** In the order they ran. */
  readonly trials: readonly RateTrial[];
}

/** Whether a measurement holds against the target; the reason when it does not. */
export function judgeTrial(
  measurement: TrialMeasurement,
  p99TargetMs: number,
  maxFailureShare: number,
): { held: boolean; reason?: string } {
  if (measurement.failureShare > maxFailureShare)
    return {
      held: false,
      reason: `${(100 * measurement.failureShare).toFixed(1)}% errors or timeouts > ${(100 * maxFailureShare).toFixed(1)}%`,
    };
  if (Number.isNaN(measurement.p99Ms)) return { held: false, reason: 'nothing answered' };
  if (measurement.p99Ms > p99TargetMs)
    return { held: false, reason: `p99 ${Math.round(measurement.p99Ms)} ms > ${p99TargetMs} ms` };
  return { held: true };
}

/** Rates are tried to a hundredth of a request per second. */
const roundRate = (ratePerS: number): number => Math.round(ratePerS * 100) / 100;

/**
 * Finds the highest offered rate whose gated p99 stays under the target with few failures: the rate
 * grows by `growthFactor` while trials hold, then the bracket between the last rate that held and
 * the first that broke is bisected. Assumes a rate that breaks means every higher one breaks too, so
 * each rate runs once. `measure` runs one trial at a rate (against a live system, or a model in tests).
 */
export async function searchMaxSustainableRate(
  measure: (ratePerS: number) => Promise<TrialMeasurement>,
  options: RateSearchOptions,
): Promise<RateSearchResult> {
  const maxFailureShare = options.maxFailureShare ?? 0.01;
  const growth = options.growthFactor ?? 2;
  const refineSteps = options.refineSteps ?? 3;
  const tolerance = options.tolerance ?? 0.05;
  if (!(options.startRatePerS > 0)) throw new RangeError(`startRatePerS must be > 0, got ${options.startRatePerS}`);
  if (!(options.maxRatePerS >= options.startRatePerS))
    throw new RangeError(`maxRatePerS (${options.maxRatePerS}) must be ≥ startRatePerS (${options.startRatePerS})`);
  if (!(growth > 1)) throw new RangeError(`growthFactor must be > 1, got ${growth}`);
  if (!(options.p99TargetMs > 0)) throw new RangeError(`p99TargetMs must be > 0, got ${options.p99TargetMs}`);

  const trials: RateTrial[] = [];
  const trial = async (ratePerS: number): Promise<boolean> => {
    const measurement = await measure(ratePerS);
    const verdict = judgeTrial(measurement, options.p99TargetMs, maxFailureShare);
    trials.push({ ratePerS, ...measurement, ...verdict });
    return verdict.held;
  };

  let held: number | undefined;
  let broke: number | undefined;
  for (let rate = roundRate(options.startRatePerS); ;) {
    if (await trial(rate)) {
      held = rate;
      if (rate >= options.maxRatePerS) break;
      rate = roundRate(Math.min(options.maxRatePerS, rate * growth));
    } else {
      broke = rate;
      break;
    }
  }
  if (broke !== undefined) {
    // Below the start rate the bracket's floor is zero.
    let low = held ?? 0;
    let high = broke;
    for (let step = 0; step < refineSteps && (high - low) / high > tolerance; step++) {
      const mid = roundRate((low + high) / 2);
      if (mid <= low || mid >= high) break;
      if (await trial(mid)) {
        low = mid;
        held = mid;
      } else {
        high = mid;
        broke = mid;
      }
    }
  }
  return {
    maxSustainableRatePerS: held,
    brokeAtRatePerS: broke,
    p99TargetMs: options.p99TargetMs,
    maxFailureShare,
    trials,
  };
}
