/**
 * The microbenchmark runner: turns cases into tinybench tasks, runs them synchronously and reduces
 * each to ops/s and per-operation latency percentiles in microseconds.
 */
import { Bench } from 'tinybench';

/** A DESIGN.md figure printed beside a result (never a pass/fail gate). */
export interface Target {
  /** Per-operation p99 must be at most this many µs. */
  readonly p99Us?: number;
  /** Operations per second must be at least this. */
  readonly minOpsPerSec?: number;
  /** Where the figure comes from, for the report. */
  readonly label: string;
}

/** One thing to time. */
export interface MicroCase {
  readonly suite: string;
  readonly name: string;
  /**
   * Operations one call of `fn` performs. Above 1, tinybench samples are batch times and the
   * reported percentiles are those of the per-operation mean within a batch (for sub-µs operations
   * that the timer cannot resolve one by one).
   */
  readonly opsPerCall: number;
  /** The timed call. Must be synchronous. */
  readonly fn: () => unknown;
  /** Untimed preparation before each call (e.g. refilling message buffers). */
  readonly beforeEach?: () => void;
  readonly target?: Target;
}

/** How long to run each case. */
export interface RunSettings {
  readonly timeMs: number;
  readonly iterations: number;
  readonly warmupTimeMs: number;
  readonly warmupIterations: number;
}

export const FULL_RUN: RunSettings = { timeMs: 2_000, iterations: 200, warmupTimeMs: 500, warmupIterations: 50 };
export const QUICK_RUN: RunSettings = { timeMs: 150, iterations: 20, warmupTimeMs: 50, warmupIterations: 5 };
/** For the smoke test: a handful of calls. */
export const TINY_RUN: RunSettings = { timeMs: 10, iterations: 5, warmupTimeMs: 5, warmupIterations: 2 };

/** One case's figures. Latencies are per operation, in microseconds. */
export interface CaseResult {
  readonly suite: string;
  readonly name: string;
  readonly opsPerSec: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p75Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** Relative margin of error of the mean, in percent. */
  readonly rmePct: number;
  /** tinybench samples (calls of the case's fn). */
  readonly samples: number;
  readonly opsPerCall: number;
  readonly target?: Target & { readonly met: boolean };
}

/** Whether `result` meets `target`; both bounds must hold where given. */
export function meetsTarget(result: Pick<CaseResult, 'opsPerSec' | 'p99Us'>, target: Target): boolean {
  return (
    (target.p99Us === undefined || result.p99Us <= target.p99Us) &&
    (target.minOpsPerSec === undefined || result.opsPerSec >= target.minOpsPerSec)
  );
}

/** Runs `cases` one after another (tinybench, hrtime clock, timer overhead subtracted). */
export function runCases(cases: readonly MicroCase[], settings: RunSettings): CaseResult[] {
  const bench = new Bench({
    time: settings.timeMs,
    iterations: settings.iterations,
    warmupTime: settings.warmupTimeMs,
    warmupIterations: settings.warmupIterations,
    timestampProvider: 'hrtimeNow',
    subtractTimerOverhead: true,
    throws: true,
  });
  const byName = new Map<string, MicroCase>();
  for (const c of cases) {
    const name = `${c.suite}: ${c.name}`;
    byName.set(name, c);
    const before = c.beforeEach;
    bench.add(name, c.fn, before === undefined ? {} : { beforeEach: () => before() });
  }
  bench.runSync();
  return bench.tasks.map((task) => {
    const c = byName.get(task.name);
    const result = task.result;
    if (c === undefined) throw new Error(`tinybench returned unknown task ${task.name}`);
    if (result.state !== 'completed') {
      throw new Error(
        `benchmark ${task.name} ended ${result.state}${result.state === 'errored' ? `: ${result.error.message}` : ''}`,
      );
    }
    // tinybench latencies are milliseconds per call; a call is opsPerCall operations.
    const perOpUs = 1000 / c.opsPerCall;
    const latency = result.latency;
    const figures = {
      suite: c.suite,
      name: c.name,
      opsPerSec: latency.mean > 0 ? (1000 * c.opsPerCall) / latency.mean : Number.POSITIVE_INFINITY,
      meanUs: latency.mean * perOpUs,
      p50Us: latency.p50 * perOpUs,
      p75Us: latency.p75 * perOpUs,
      p99Us: latency.p99 * perOpUs,
      maxUs: latency.max * perOpUs,
      rmePct: latency.rme,
      samples: latency.samplesCount,
      opsPerCall: c.opsPerCall,
    };
    return c.target === undefined
      ? figures
      : { ...figures, target: { ...c.target, met: meetsTarget(figures, c.target) } };
  });
}

/** A suite's cases plus the correctness checks it ran while preparing them. */
export interface SuitePlan {
  readonly suite: string;
  readonly cases: readonly MicroCase[];
  /** Named figures that are not timings (e.g. mismatches against brute force), reported as they are. */
  readonly checks: Readonly<Record<string, number | string>>;
  /** Checks that can only be counted once the cases have run (merged into `checks` in the report). */
  readonly afterRun?: () => Readonly<Record<string, number | string>>;
}

/** Options every suite takes. */
export interface SuiteOptions {
  readonly seed: number;
  /** Only cases whose full name (`suite: name`) contains this substring. */
  readonly filter?: string;
  /** Smaller fleets and fewer verification samples (the smoke test). */
  readonly nodeCounts?: readonly number[];
  /** Requests to verify against brute force (placement). */
  readonly verifySamples?: number;
  /** Progress lines go here (default: none). */
  readonly log?: (line: string) => void;
}

/** Whether a case named `suite: name` passes the `--filter` substring. */
export function selected(options: SuiteOptions, suite: string, name: string): boolean {
  return options.filter === undefined || `${suite}: ${name}`.includes(options.filter);
}

/** Formats a count with k/M suffixes for case names (10000 → "10k"). */
export function shortCount(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}
