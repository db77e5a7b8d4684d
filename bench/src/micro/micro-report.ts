/**
 * The microbenchmark report: the machine it ran on, a table of results with DESIGN.md targets beside
 * them, the JSON file a later run compares against, and that comparison.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { formatTable } from '../report/table.js';
import type { Calibration } from './calibration.js';
import type { CaseResult, RunSettings } from './runner.js';

/** Identifies results files of this shape. */
export const MICRO_REPORT_SCHEMA = 'switchyard.bench.micro/v1';

/** Where the figures were measured. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly nodeVersion: string;
  readonly v8Version: string;
  readonly platform: string;
  readonly arch: string;
  readonly totalMemoryBytes: number;
  /** 1-minute load average when the run started: above ~0.5 per core, other work competed for the CPU. */
  readonly loadAverage1m: number;
}

/** What `--out` / `bench/results/micro-<timestamp>.json` holds. */
export interface MicroReport {
  readonly schema: typeof MICRO_REPORT_SCHEMA;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly quick: boolean;
  readonly filter?: string;
  readonly seed: number;
  readonly machine: MachineInfo;
  readonly settings: RunSettings;
  readonly results: readonly CaseResult[];
  readonly checks: Readonly<Record<string, Readonly<Record<string, number | string>>>>;
  /** The absolute targets scaled by this run's plain scan (see calibration.ts), when it ran. */
  readonly calibration?: Calibration;
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cpuCount: cores.length,
    nodeVersion: process.version,
    v8Version: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    totalMemoryBytes: totalmem(),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** Three significant figures, no exponent: 123456 → "123000", 0.01234 → "0.0123". */
export function sig3(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 4));
}

function targetCell(result: CaseResult): string {
  const target = result.target;
  if (target === undefined) return '';
  const bounds = target.p99Us !== undefined || target.minOpsPerSec !== undefined;
  return bounds ? `${target.met ? 'met ' : 'MISS'}  ${target.label}` : target.label;
}

/** The results table: name, ops/s, p50 µs, p99 µs, samples, and the DESIGN.md target where there is one. */
export function formatResults(results: readonly CaseResult[]): string {
  return formatTable(
    ['benchmark', 'ops/s', 'p50 µs', 'p99 µs', 'mean µs', 'rme %', 'samples', 'target'],
    results.map((r) => [
      `${r.suite}: ${r.name}`,
      Math.round(r.opsPerSec),
      sig3(r.p50Us),
      sig3(r.p99Us),
      sig3(r.meanUs),
      r.rmePct.toFixed(1),
      r.samples,
      targetCell(r),
    ]),
  );
}

/** The non-timing checks, one line per suite. */
export function formatChecks(checks: MicroReport['checks']): string {
  return Object.entries(checks)
    .map(
      ([suite, values]) =>
        `${suite}: ${Object.entries(values)
          .map(([k, v]) => `${k}=${v}`)
          .join('  ')}`,
    )
    .join('\n');
}

/** One case compared with the same case in a saved report. */
export interface Comparison {
  readonly name: string;
  readonly baseOpsPerSec: number;
  readonly opsPerSec: number;
  /** now / base: above 1 is faster. */
  readonly opsRatio: number;
  readonly baseP99Us: number;
  readonly p99Us: number;
  /** now / base: below 1 is better. */
  readonly p99Ratio: number;
  /** ops/s down more than the threshold, or p99 up more than it. */
  readonly regression: boolean;
}

/** Parses a saved report, refusing files of another shape. */
export function parseReport(text: string, source: string): MicroReport {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('schema' in parsed) || parsed.schema !== MICRO_REPORT_SCHEMA) {
    throw new TypeError(`${source} is not a ${MICRO_REPORT_SCHEMA} report`);
  }
  return parsed as MicroReport;
}

/** Compares every case present in both reports; `threshold` 0.1 flags changes worse than 10 %. */
export function compare(base: MicroReport, results: readonly CaseResult[], threshold = 0.1): Comparison[] {
  const byName = new Map(base.results.map((r) => [`${r.suite}: ${r.name}`, r]));
  const out: Comparison[] = [];
  for (const r of results) {
    const name = `${r.suite}: ${r.name}`;
    const b = byName.get(name);
    if (b === undefined) continue;
    const opsRatio = r.opsPerSec / b.opsPerSec;
    const p99Ratio = r.p99Us / b.p99Us;
    out.push({
      name,
      baseOpsPerSec: b.opsPerSec,
      opsPerSec: r.opsPerSec,
      opsRatio,
      baseP99Us: b.p99Us,
      p99Us: r.p99Us,
      p99Ratio,
      regression: opsRatio < 1 - threshold || p99Ratio > 1 + threshold,
    });
  }
  return out;
}

/** The comparison table, with a warning about comparing across machines. */
export function formatComparison(base: MicroReport, comparisons: readonly Comparison[], machine: MachineInfo): string {
  const lines: string[] = [];
  if (base.machine.cpuModel !== machine.cpuModel || base.machine.nodeVersion !== machine.nodeVersion) {
    lines.push(
      `note: baseline ran on ${base.machine.cpuModel} ×${base.machine.cpuCount}, Node ${base.machine.nodeVersion}; ` +
        `this run on ${machine.cpuModel} ×${machine.cpuCount}, Node ${machine.nodeVersion}`,
    );
  }
  if (base.quick) lines.push('note: the baseline was a --quick run (short and noisy)');
  lines.push(
    formatTable(
      ['benchmark', 'base ops/s', 'ops/s', 'ops ×', 'base p99 µs', 'p99 µs', 'p99 ×', ''],
      comparisons.map((c) => [
        c.name,
        Math.round(c.baseOpsPerSec),
        Math.round(c.opsPerSec),
        c.opsRatio.toFixed(2),
        sig3(c.baseP99Us),
        sig3(c.p99Us),
        c.p99Ratio.toFixed(2),
        c.regression ? 'REGRESSION' : '',
      ]),
    ),
  );
  const regressions = comparisons.filter((c) => c.regression).length;
  lines.push(`${regressions} regression(s) beyond 10 % in ${comparisons.length} compared case(s)`);
  return lines.join('\n');
}
