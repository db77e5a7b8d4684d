/**
 * `node bench/dist/micro/main.js [--quick] [--filter <substring>] [--out <file.json>]
 *   [--baseline <file.json>] [--fail-on-regression] [--seed <n>]`
 *
 * Runs the scheduler-core microbenchmarks, prints a table with DESIGN.md targets beside the results
 * (targets are reported, never enforced), writes JSON to bench/results/micro-<timestamp>.json (or
 * --out), and with --baseline compares ops/s and p99 against a saved report.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  MICRO_REPORT_SCHEMA,
  compare,
  formatChecks,
  formatComparison,
  formatResults,
  machineInfo,
  parseReport,
  type MicroReport,
} from './micro-report.js';
import { runMicroSuites } from './micro-suites.js';
import { calibrate, formatCalibration } from './calibration.js';

const USAGE = `usage: node bench/dist/micro/main.js [options]
  --quick                 short run (fewer iterations, fewer brute-force checks)
  --filter <substring>    only cases whose "suite: name" contains it (e.g. "10k", "heartbeat", "codec")
  --out <file.json>       where to write the JSON report (default bench/results/micro-<timestamp>.json)
  --baseline <file.json>  compare ops/s and p99 with a saved report; flags changes worse than 10 %
  --fail-on-regression    exit 1 when --baseline finds a regression
  --seed <n>              fleet and request seed (default 1)`;

function defaultOutPath(startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  return fileURLToPath(new URL(`../../results/micro-${stamp}.json`, import.meta.url));
}

function main(): number {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      filter: { type: 'string' },
      out: { type: 'string' },
      baseline: { type: 'string' },
      'fail-on-regression': { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got ${values.seed}`);
  // Read the baseline first: a bad path should fail before minutes of benchmarking.
  const baseline =
    values.baseline === undefined ? undefined : parseReport(readFileSync(values.baseline, 'utf8'), values.baseline);

  const machine = machineInfo();
  const startedAt = new Date();
  console.log(
    `switchyard micro-benchmarks${values.quick ? ' (quick)' : ''}: ${machine.cpuModel} ×${machine.cpuCount}, ` +
      `Node ${machine.nodeVersion}, load ${machine.loadAverage1m}${values.filter === undefined ? '' : `, filter "${values.filter}"`}`,
  );
  const run = runMicroSuites({
    quick: values.quick,
    seed,
    ...(values.filter === undefined ? {} : { filter: values.filter }),
    log: (line) => console.log(`  ${line}`),
  });
  if (run.results.length === 0) {
    console.error(`no benchmark matches --filter ${JSON.stringify(values.filter)}`);
    return 2;
  }

  console.log(`\n${formatResults(run.results)}\n`);
  console.log(`checks (not timings):\n${formatChecks(run.checks)}\n`);
  const calibration = calibrate(run.results);
  if (calibration !== undefined) console.log(`${formatCalibration(calibration)}\n`);
  const report: MicroReport = {
    schema: MICRO_REPORT_SCHEMA,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    quick: values.quick,
    ...(values.filter === undefined ? {} : { filter: values.filter }),
    seed,
    machine,
    settings: run.settings,
    results: run.results,
    checks: run.checks,
    ...(calibration === undefined ? {} : { calibration }),
  };
  const outPath = resolve(values.out ?? defaultOutPath(startedAt));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${outPath}`);

  const mismatches = run.checks['placement']?.['mismatches'];
  if (typeof mismatches === 'number' && mismatches > 0) {
    console.error(`placement picked a node that is not best-scoring in ${mismatches} verified request(s)`);
    return 1;
  }
  if (baseline !== undefined) {
    const comparisons = compare(baseline, run.results);
    console.log(
      `\ncompared with ${values.baseline} (${baseline.startedAt}):\n${formatComparison(baseline, comparisons, machine)}`,
    );
    if (values['fail-on-regression'] && comparisons.some((c) => c.regression)) return 1;
  }
  return 0;
}

process.exitCode = main();
