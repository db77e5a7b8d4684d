/**
 * `node bench/dist/e2e/load/main.js [--rate r] [--duration-s s] [--sessions n] [--think-ms m]
 *  [--agents k] [--search] [--p99-target-ms t] [--out file.json] …` (`--help` lists every option)
 *
 * End-to-end load over real processes: nats-server, the scheduler and k agent processes of the built
 * CLI, an open-loop Poisson stream of mixed requests plus agent sessions, and a report of throughput
 * and latency percentiles; with `--search`, the highest rate whose p99 holds a target.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultTracePath } from '../../demo/demo.js';
import { readAzureTrace } from '../../workload/azure-trace.js';
import { defaultMix, traceSizes } from './load-mix.js';
import { renderLoadRun, renderLoadSearch } from './load-report.js';
import { type LoadRunOptions, runLoadScenario, runLoadSearch, withoutOutcomes } from './run-load.js';
import { LoadRunAbortedError } from './scenario-runner.js';

const OPTIONS = {
  rate: {
    type: 'string',
    default: '5',
    help: 'stateless requests per second (open loop, Poisson); the search starts here',
  },
  'duration-s': { type: 'string', default: '30', help: 'seconds of offered load (per trial when searching)' },
  sessions: { type: 'string', default: '4', help: 'agent sessions conversing beside the stateless stream' },
  'think-ms': { type: 'string', default: '1000', help: 'mean think time between a turn’s answer and the next turn' },
  agents: { type: 'string', default: '2', help: 'agent processes' },
  'nodes-per-agent': { type: 'string', default: '2', help: 'simulated nodes per agent process' },
  profile: { type: 'string', default: 'h100', help: 'accelerator profile of the nodes' },
  chips: { type: 'string', default: '4', help: 'accelerators per node' },
  'max-output-tokens': { type: 'string', default: '256', help: 'cap on output tokens per request' },
  'timeout-ms': { type: 'string', default: '30000', help: 'client timeout, from each request’s intended send time' },
  'warmup-s': { type: 'string', default: '2', help: 'seconds of unmeasured load before measuring' },
  seed: { type: 'string', default: '42', help: 'seed of the timeline, the sessions and the simulated accelerators' },
  trace: { type: 'string', help: 'Azure LLM trace CSV for token sizes (default: ../shared/traces if present)' },
  synthetic: { type: 'boolean', help: 'use Azure-like log-normal sizes even when the trace is present' },
  search: { type: 'boolean', help: 'search the max sustainable rate instead of one run' },
  'p99-target-ms': { type: 'string', default: '8000', help: 'search: the gated p99 must stay at or under this' },
  gate: { type: 'string', default: 'e2e', help: 'search: which p99 is gated, e2e or scheduler-hop' },
  'max-rate': { type: 'string', default: '400', help: 'search: highest rate tried' },
  'max-failure-share': { type: 'string', default: '0.01', help: 'search: allowed share of errors and timeouts' },
  out: { type: 'string', help: 'JSON result file (default: bench/results/load-<timestamp>.json)' },
  'log-dir': { type: 'string', help: 'where process logs go (default: a new temp dir)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const;

/** A bad command line: printed with the usage, exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function usage(): string {
  return [
    'usage: node bench/dist/e2e/load/main.js [options]',
    ...Object.entries(OPTIONS).map(([name, spec]) => {
      const value = spec.type === 'string' ? ' <value>' : '';
      const fallback = 'default' in spec ? ` (default ${spec.default})` : '';
      return `  --${name}${value}`.padEnd(32) + spec.help + fallback;
    }),
  ].join('\n');
}

function numberArg(values: Record<string, unknown>, name: string, min: number, max: number, integer = false): number {
  const raw = values[name];
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || value > max)
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got ${String(raw)}`);
  if (integer && !Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got ${raw}`);
  return value;
}

/** The parseArgs spec of OPTIONS (their help texts left out). */
const PARSE_SPEC = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, { help: _help, ...spec }]) => [name, spec]),
) as { [K in keyof typeof OPTIONS]: Omit<(typeof OPTIONS)[K], 'help'> };

function parseCommandLine(argv: readonly string[]): ReturnType<typeof parseArgs<{ options: typeof PARSE_SPEC }>> {
  try {
    return parseArgs({ args: [...argv], options: PARSE_SPEC, strict: true });
  } catch (err) {
    // Unknown options and missing values: the user's mistake, answered with the usage.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

async function main(argv: readonly string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const repoRoot = resolve(here, '..', '..', '..', '..');
  const { values } = parseCommandLine(argv);
  if (values.help === true) {
    console.log(usage());
    return 0;
  }
  const cliEntry = join(repoRoot, 'cli', 'dist', 'main.js');
  if (!existsSync(cliEntry)) throw new Error(`${cliEntry} not found: run npm run build`);
  const gate = values.gate;
  if (gate !== 'e2e' && gate !== 'scheduler-hop')
    throw new UsageError(`--gate must be e2e or scheduler-hop, got ${gate}`);
  const tracePath = values.synthetic === true ? undefined : (values.trace ?? defaultTracePath(repoRoot));
  const maxOutputTokens = numberArg(values, 'max-output-tokens', 1, 100_000, true);
  const mix =
    tracePath === undefined
      ? defaultMix({ maxOutputTokens })
      : defaultMix({
          sizes: traceSizes(await readAzureTrace(tracePath)),
          sizesSource: 'the Azure LLM conversation trace (CC-BY-4.0)',
          maxOutputTokens,
        });
  const logDir = values['log-dir'] ?? (await mkdtemp(join(tmpdir(), 'switchyard-load-')));
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping the load and every process (again to force)`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const options: LoadRunOptions = {
    cliEntry,
    logDir,
    agents: numberArg(values, 'agents', 1, 64, true),
    nodesPerAgent: numberArg(values, 'nodes-per-agent', 1, 64, true),
    profile: values.profile,
    chips: numberArg(values, 'chips', 1, 256, true),
    ratePerS: numberArg(values, 'rate', 0.01, 100_000),
    durationMs: numberArg(values, 'duration-s', 0.1, 86_400) * 1000,
    sessions: numberArg(values, 'sessions', 0, 10_000, true),
    thinkMeanMs: numberArg(values, 'think-ms', 0, 3_600_000),
    clientTimeoutMs: numberArg(values, 'timeout-ms', 1, 3_600_000),
    seed: numberArg(values, 'seed', 0, 2 ** 31, true),
    warmupMs: numberArg(values, 'warmup-s', 0, 3600) * 1000,
    mix,
    signal: abort.signal,
    onProgress: (line) => console.log(line),
  };
  const out = values.out ?? join(repoRoot, 'bench', 'results', `load-${timestamp()}.json`);
  let json: unknown;
  try {
    if (values.search === true) {
      const p99TargetMs = numberArg(values, 'p99-target-ms', 0.001, 3_600_000);
      console.log(
        `▸ searching the max sustainable rate: ${gate} p99 ≤ ${p99TargetMs} ms, from ${options.ratePerS} req/s`,
      );
      const result = await runLoadSearch(options, {
        gate,
        p99TargetMs,
        maxRatePerS: Math.max(options.ratePerS, numberArg(values, 'max-rate', 0.01, 1_000_000)),
        maxFailureShare: numberArg(values, 'max-failure-share', 0, 1),
      });
      console.log('');
      for (const run of result.runs) console.log(`${renderLoadRun(run)}\n`);
      console.log(renderLoadSearch(result));
      json = result;
    } else {
      const result = await runLoadScenario(options);
      console.log('');
      console.log(renderLoadRun(result));
      json = withoutOutcomes(result);
    }
  } catch (err) {
    if (err instanceof LoadRunAbortedError) {
      console.error(`✖ ${err.message}; every process stopped`);
      return 130;
    }
    throw err;
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote ${out}`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${usage()}`);
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  }
}
