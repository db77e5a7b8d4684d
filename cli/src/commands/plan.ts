import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assignMix,
  calibrateAgainstLive,
  type CalibrationSummary,
  defaultTracePath,
  describeFleetMix,
  formatPolicyComparison,
  loadFleetSpec,
  loadWorkload,
  POLICIES,
  ProgressBar,
  renderPlanHtml,
  renderPlanMarkdown,
  runPlan,
  SYNTHETIC_KINDS,
  type SyntheticKind,
  type Weights,
  type WorkloadSpec,
} from '@switchyard/bench';
import { SLO_CLASSES } from '@switchyard/protocol';
import { type Command, intOption, numberOption, type OptionValues, UsageError } from '../command.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Parses `name=weight,name=weight`; every name must be among `allowed` when given. */
export function parseWeights(flag: string, raw: string, allowed?: readonly string[]): Weights {
  const weights: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const [name, weight, extra] = part.split('=').map((s) => s.trim());
    const value = Number(weight);
    if (name === undefined || name === '' || weight === undefined || extra !== undefined || !(value >= 0)) {
      throw new UsageError(`--${flag}: expected name=weight[,name=weight…], got ${JSON.stringify(part)}`);
    }
    if (allowed !== undefined && !allowed.includes(name)) {
      throw new UsageError(`--${flag}: ${JSON.stringify(name)} is not one of ${allowed.join(', ')}`);
    }
    weights[name] = value;
  }
  if (!Object.values(weights).some((w) => w > 0)) throw new UsageError(`--${flag}: needs a positive weight`);
  return weights;
}

/** A relative error as a signed percentage. */
function signedPercent(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;
}

function workloadSpec(values: OptionValues): WorkloadSpec {
  const synthetic = values['synthetic'];
  if (typeof synthetic === 'string') {
    if (typeof values['trace'] === 'string') throw new UsageError('--trace and --synthetic exclude each other');
    if (!(SYNTHETIC_KINDS as readonly string[]).includes(synthetic)) {
      throw new UsageError(
        `--synthetic must be one of ${SYNTHETIC_KINDS.join(', ')}, got ${JSON.stringify(synthetic)}`,
      );
    }
    return {
      kind: 'synthetic',
      generator: synthetic as SyntheticKind,
      ratePerSecond: numberOption(values, 'rate', 0.001, 1_000_000),
      durationMs: numberOption(values, 'duration-s', 1, 30 * 86_400) * 1000,
      seed: intOption(values, 'seed', 0, 2 ** 31),
      meanThinkMs: numberOption(values, 'think-s', 0.001, 86_400) * 1000,
    };
  }
  const trace = typeof values['trace'] === 'string' ? values['trace'] : defaultTracePath(REPO_ROOT);
  if (trace === undefined) {
    throw new UsageError(
      'no --trace given and ../shared/traces is not here; pass --trace <file> or --synthetic <kind>',
    );
  }
  return { kind: 'trace', path: trace, skipBadRows: values['skip-bad-rows'] === true };
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'capacity plan: simulate a workload on a fleet under each placement policy, search the smallest fleet',
  usage:
    '\n\nWrites <out>/plan.html (self-contained, charts inline), plan.md and plan.json.\n' +
    'Examples:\n' +
    '  switchyard plan                                   # Azure conversation trace on bench/fleets/reference.json\n' +
    '  switchyard plan --synthetic agents --rate 20 --duration-s 600 --think-s 20\n' +
    '  switchyard plan --trace my-trace.jsonl --fleet my-fleet.json --capacity-target 0.995',
  options: {
    fleet: { type: 'string', description: 'fleet spec file (clusters, budgets, latencies, node groups)' },
    trace: {
      type: 'string',
      description:
        'workload trace: Azure LLM trace .csv or generic .jsonl (default: ../shared Azure conversation trace)',
    },
    synthetic: { type: 'string', description: `synthetic workload instead of a trace: ${SYNTHETIC_KINDS.join(', ')}` },
    rate: { type: 'string', default: '5', description: 'synthetic: mean requests per second' },
    'duration-s': { type: 'string', default: '600', description: 'synthetic: seconds of arrivals' },
    'think-s': { type: 'string', default: '30', description: 'synthetic agents: mean think time between turns' },
    models: {
      type: 'string',
      default: 'llama-3.1-8b=4,llama-3.3-70b=1',
      description: 'model mix given to trace rows (name=weight,…)',
    },
    classes: {
      type: 'string',
      default: 'interactive=0.65,standard=0.25,batch=0.1',
      description: 'SLO class mix given to trace rows',
    },
    policies: { type: 'string', default: Object.keys(POLICIES).join(','), description: 'policies to compare' },
    'capacity-target': {
      type: 'string',
      default: '0.99',
      description: 'capacity search: share of every class meeting its SLO ("off": no search)',
    },
    'max-trials': { type: 'string', default: '40', description: 'capacity search: most fleets simulated' },
    limit: { type: 'string', description: 'use only the first N requests of the workload' },
    'skip-bad-rows': { type: 'boolean', description: 'count and report malformed trace rows instead of stopping' },
    seed: { type: 'string', env: 'SWITCHYARD_SEED', default: '1', description: 'seed of the mix and the simulation' },
    title: { type: 'string', default: 'Switchyard capacity plan', description: 'report title' },
    out: { type: 'string', default: 'plan-report', description: 'directory for plan.html, plan.md, plan.json' },
    calibrate: {
      type: 'boolean',
      description: 'first run a small scenario live (nats-server, scheduler, agents) and simulated; report the error',
    },
    'calibrate-rate': { type: 'string', default: '6', description: 'calibration: requests per second' },
    'calibrate-s': { type: 'string', default: '20', description: 'calibration: seconds of load' },
  },
  async run(values) {
    const seed = intOption(values, 'seed', 0, 2 ** 31);
    const fleetPath = resolve(
      typeof values['fleet'] === 'string' ? values['fleet'] : join(REPO_ROOT, 'bench/fleets/reference.json'),
    );
    const fleet = loadFleetSpec(fleetPath);
    const policyNames = String(values['policies'])
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const unknown = policyNames.filter((p) => POLICIES[p] === undefined);
    if (policyNames.length === 0 || unknown.length > 0) {
      throw new UsageError(`--policies: unknown ${unknown.join(', ')}; known: ${Object.keys(POLICIES).join(', ')}`);
    }
    const capacityRaw = String(values['capacity-target']);
    const capacityTarget = capacityRaw === 'off' ? undefined : numberOption(values, 'capacity-target', 0.01, 1);
    const mix = {
      models: parseWeights('models', String(values['models'])),
      classes: parseWeights('classes', String(values['classes']), SLO_CLASSES),
      regions: (fleet.topology.regions ?? []).map((r) => r.name),
    };

    const workload = await loadWorkload(workloadSpec(values));
    if (workload.skipped.length > 0) {
      const first = workload.skipped.slice(0, 5).map((row) => `  line ${row.line}: ${row.reason}`);
      console.error(`skipped ${workload.skipped.length} malformed rows (--skip-bad-rows):\n${first.join('\n')}`);
    }
    const limit = values['limit'] === undefined ? undefined : intOption(values, 'limit', 1, 100_000_000);
    const rows = limit === undefined ? workload.rows : workload.rows.slice(0, limit);
    if (rows.length === 0) throw new UsageError(`${workload.source}: the workload has no requests`);
    const requests = assignMix(rows, mix, seed);
    const nodes = fleet.groups.reduce((sum, g) => sum + g.count, 0);
    console.log(`${workload.source}: ${requests.length} requests; ${fleetPath}: ${nodes} nodes`);

    const outDir = resolve(String(values['out']));
    let calibration: CalibrationSummary | undefined;
    if (values['calibrate'] === true) {
      console.error('calibration: live run (nats-server, scheduler, 2 agents) and the same requests simulated …');
      calibration = await calibrateAgainstLive({
        cliEntry: fileURLToPath(new URL('../main.js', import.meta.url)),
        logDir: join(outDir, 'calibration-logs'),
        ratePerS: numberOption(values, 'calibrate-rate', 0.1, 1_000),
        durationMs: numberOption(values, 'calibrate-s', 1, 3_600) * 1000,
        seed,
        onProgress: (line) => console.error(`  ${line}`),
      });
      const e = calibration.relativeError;
      console.error(
        `calibration: simulated vs live TTFT p50 ${signedPercent(e.ttftP50)}, p99 ${signedPercent(e.ttftP99)}, mean power ${signedPercent(e.meanPower)}`,
      );
    }
    const progress = new ProgressBar(process.stderr);
    const report = runPlan({
      title: String(values['title']),
      fleet,
      fleetSource: fleetPath,
      requests,
      workloadSource: workload.source,
      skippedRows: workload.skipped.length,
      seed,
      policies: Object.fromEntries(policyNames.map((p) => [p, POLICIES[p]!])),
      ...(capacityTarget === undefined ? {} : { capacityTarget }),
      capacityMaxTrials: intOption(values, 'max-trials', 1, 10_000),
      onProgress: (phase, fraction) => progress.update(phase, fraction),
      ...(calibration === undefined ? {} : { calibration }),
    });
    progress.finish();

    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'plan.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(outDir, 'plan.md'), renderPlanMarkdown(report));
    writeFileSync(join(outDir, 'plan.html'), renderPlanHtml(report));

    console.log(`\n${formatPolicyComparison(report.policies)}`);
    const answer = report.capacity;
    if (answer !== undefined) {
      const smallest = answer.smallest;
      console.log(
        smallest === undefined
          ? `\ncapacity: ${answer.reason ?? 'no fleet met the target'}`
          : `\ncapacity (${answer.policy}, every class ≥ ${(100 * answer.targetAttainment).toFixed(1)}% within SLO): ` +
              describeFleetMix(smallest.fleet) +
              ` = ${smallest.fleet.nodes} node${smallest.fleet.nodes === 1 ? '' : 's'}, ${(smallest.fleet.ratedWatts / 1000).toFixed(1)} kW rated, ` +
              `peak draw ${(smallest.peakFleetWatts / 1000).toFixed(1)} kW (${answer.trials.length} fleets simulated)`,
      );
    }
    const speed = report.simulator;
    console.log(
      `\nsimulated ${speed.simulatedRequests} requests in ${(speed.wallMs / 1000).toFixed(1)} s ` +
        `(${Math.round(speed.requestsPerWallSecond)} per wall second)`,
    );
    console.log(`report: ${join(outDir, 'plan.html')} (also plan.md, plan.json)`);
    return 0;
  },
};
