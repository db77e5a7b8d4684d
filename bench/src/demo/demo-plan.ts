/**
 * The demo's last act: the capacity planner on the demo's own fleet and load. The same fleet,
 * budgets and region latencies, and a workload like the one just driven (the same rate, token
 * sizes, model, class and region mix) go through the simulator under every placement policy, and
 * the capacity search looks for the smallest fleet that would have served it. The live run's
 * latencies are printed beside the simulated ones: a rough calibration, since the live run also
 * lost an agent, its leader scheduler and part of a power budget on purpose.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SloClass } from '@switchyard/protocol';
import { describeFleetMix } from '../plan/capacity-search.js';
import { runPlan } from '../plan/plan.js';
import type { PlanReport } from '../plan/plan-report.js';
import { renderPlanHtml } from '../plan/report-html.js';
import { renderPlanMarkdown } from '../plan/report-markdown.js';
import { percentile, sortedCopy } from '../report/percentiles.js';
import { formatTable } from '../report/table.js';
import { formatPolicyComparison } from '../sim/policy-report.js';
import type { TraceRequest } from '../workload/azure-trace.js';
import { poisson } from '../workload/synthetic.js';
import { assignMix } from '../plan/plan.js';
import { DEMO_TOPOLOGY, type NodeGroup } from './demo-fleet.js';
import type { RequestOutcome } from './load-driver.js';

export interface DemoPlanOptions {
  readonly fleet: readonly NodeGroup[];
  readonly ratePerS: number;
  readonly durationMs: number;
  readonly sizes: readonly TraceRequest[];
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly models: Readonly<Record<string, number>>;
  readonly classes: Readonly<Record<SloClass, number>>;
  readonly regions: Readonly<Record<string, number>>;
  readonly targets: {
    readonly interactiveTtftMs: number;
    readonly standardTotalMs: number;
    readonly batchTotalMs: number;
  };
  readonly seed: number;
  readonly logDir: string;
  /** What the live run's clients saw. */
  readonly live: readonly RequestOutcome[];
}

export interface DemoPlan {
  readonly report: PlanReport;
  readonly htmlPath: string;
  readonly text: string;
}

export async function planDemoFleet(options: DemoPlanOptions): Promise<DemoPlan> {
  const { sizes } = options;
  if (sizes.length === 0) throw new RangeError('the demo plan needs token sizes');
  const rows = poisson({
    ratePerSecond: options.ratePerS,
    durationMs: options.durationMs,
    seed: options.seed,
    sizes: (rng) => {
      const row = sizes[Math.floor(rng() * sizes.length)]!;
      return {
        inputTokens: Math.min(options.maxInputTokens, row.inputTokens),
        outputTokens: Math.min(options.maxOutputTokens, row.outputTokens),
      };
    },
  });
  const requests = assignMix(
    rows,
    { models: options.models, classes: options.classes, regions: options.regions },
    options.seed,
  );
  const report = runPlan({
    title: 'Switchyard demo fleet: capacity plan',
    fleet: {
      topology: DEMO_TOPOLOGY,
      groups: options.fleet.map((g) => ({
        cluster: g.cluster,
        profile: g.profile,
        count: g.nodes,
        chips: g.chips,
        models: g.models,
      })),
    },
    fleetSource: 'the demo fleet (bench/src/demo/demo-fleet.ts)',
    requests,
    workloadSource: `the demo's load: Poisson ${options.ratePerS} req/s for ${Math.round(options.durationMs / 1000)} s`,
    skippedRows: 0,
    seed: options.seed,
    targets: options.targets,
    capacityTarget: 0.99,
    capacityMaxTrials: 16,
  });
  await mkdir(options.logDir, { recursive: true });
  const htmlPath = join(options.logDir, 'plan.html');
  await writeFile(htmlPath, renderPlanHtml(report));
  await writeFile(join(options.logDir, 'plan.md'), renderPlanMarkdown(report));
  await writeFile(join(options.logDir, 'plan.json'), `${JSON.stringify(report, null, 2)}\n`);

  const served = options.live.filter((o) => o.code === 'ok' && o.clientTtftMs !== undefined);
  const liveTtft = sortedCopy(served.map((o) => o.clientTtftMs!));
  const simulated = report.policies.find((p) => p.summary.policy === 'switchyard')?.summary;
  const lines = [
    `▸ capacity plan: the same fleet and a load like this run's, simulated in virtual time (${Math.round(report.simulator.requestsPerWallSecond)} requests per wall second)`,
    formatPolicyComparison(report.policies),
  ];
  if (simulated !== undefined && liveTtft.length > 0) {
    lines.push(
      '',
      formatTable(
        ['switchyard', 'TTFT p50 ms', 'TTFT p99 ms', 'served'],
        [
          [
            'live (this run: faults, sessions too)',
            Math.round(percentile(liveTtft, 50)),
            Math.round(percentile(liveTtft, 99)),
            served.length,
          ],
          [
            'simulated',
            Math.round(simulated.ttftMs.p50),
            Math.round(simulated.ttftMs.p99),
            simulated.requests - simulated.refused,
          ],
        ],
      ),
    );
  }
  const smallest = report.capacity?.smallest;
  lines.push(
    '',
    smallest === undefined
      ? `capacity search: ${report.capacity?.reason ?? 'no answer'}`
      : `smallest fleet meeting 99% of every class's SLO for this load (its ${report.workload.requests} requests, sessions aside): ` +
          describeFleetMix(smallest.fleet) +
          ` (${smallest.fleet.nodes} of ${report.fleet.mix.nodes} nodes, ${(smallest.fleet.ratedWatts / 1000).toFixed(1)} of ${(report.fleet.mix.ratedWatts / 1000).toFixed(1)} kW rated)`,
    `report: ${htmlPath} (switchyard plan --help for your own fleet and traces)`,
  );
  return { report, htmlPath, text: lines.join('\n') };
}
