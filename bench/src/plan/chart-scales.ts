/** Chart axes: linear and log scales with readable ticks, and where a value falls in pixels. */
import type { ChartAxis } from './svg-charts.js';

export interface Scale {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
  readonly log: boolean;
}

/** 1, 2 or 5 times a power of ten, the smallest at least `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const mantissa = rough / power;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
}

/** A linear axis over lo..hi rounded out to whole ticks; a flat or empty extent gets a unit span. */
function linearScale(lo: number, hi: number, tickCount: number): Scale {
  if (!(hi > lo)) [lo, hi] = hi === 0 || !Number.isFinite(hi) ? [0, 1] : [Math.min(0, hi), Math.max(0, hi)];
  const step = niceStep((hi - lo) / tickCount);
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Ticks are computed from integers so that 0.1 + 0.2 never prints as 0.30000000000000004.
  for (let i = 0; first + i * step <= last + step / 2; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return { lo: first, hi: last, ticks, log: false };
}

/** A log axis over whole decades, with 2 and 5 between them when the span is short. */
function logScale(lo: number, hi: number): Scale {
  if (!(lo > 0) || !(hi > 0)) [lo, hi] = [1, 10];
  const first = Math.floor(Math.log10(lo));
  const last = Math.max(first + 1, Math.ceil(Math.log10(hi)));
  const ticks: number[] = [];
  for (let decade = first; decade <= last; decade++) {
    for (const mantissa of last - first <= 2 ? [1, 2, 5] : [1]) {
      const tick = Number((mantissa * 10 ** decade).toPrecision(12));
      if (tick <= 10 ** last) ticks.push(tick);
    }
  }
  return { lo: 10 ** first, hi: 10 ** last, ticks, log: true };
}

/** Where `value` falls between `start` and `end` pixels; undefined when it cannot be drawn. */
export function place(scale: Scale, value: number, start: number, end: number): number | undefined {
  if (!Number.isFinite(value) || (scale.log && value <= 0)) return undefined;
  const share = scale.log
    ? (Math.log10(value) - Math.log10(scale.lo)) / (Math.log10(scale.hi) - Math.log10(scale.lo))
    : (value - scale.lo) / (scale.hi - scale.lo);
  return start + share * (end - start);
}

export function scaleFor(axis: ChartAxis, values: readonly number[], tickCount: number): Scale {
  const log = axis.scale === 'log';
  let lo = axis.min ?? Number.POSITIVE_INFINITY;
  let hi = axis.max ?? Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (!Number.isFinite(value) || (log && value <= 0)) continue;
    lo = Math.min(lo, value);
    hi = Math.max(hi, value);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = log ? [1, 10] : [0, 1];
  return log ? logScale(lo, hi) : linearScale(lo, hi, tickCount);
}
