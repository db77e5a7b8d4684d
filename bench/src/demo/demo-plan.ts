/**
 * The demo's last act: the capacity planner on the demo's own fleet and load. The same fleet,
 * budgets and region latencies, and a workload like the one just driven (the same rate, token
 * sizes, model, class and region mix, plus the agent sessions' turns as they were sent) go through
 * the simulator under every placement policy, and the capacity search looks for the smallest fleet
 * that would have served it. The live run's latencies are printed beside the simulated ones: a rough
 * calibration, since the live run also lost an agent, its leader scheduler and part of a power
 * budget on purpose.
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
import { formatPolicyComparison, POLICIES } from '../sim/policy-report.js';
import { type SimRequest, simulate } from '../sim/simulator.js';
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
  /**
   * The agent sessions' turns as they were sent (ms after the load started): replayed as
   * interactive requests for the session model. Only each turn's new tokens are prefilled (the owner
   * keeps the context), as live; the simulator does not keep a session on one node.
   */
  /** Whether the live run killed processes on purpose (the simulation does not). */
  readonly faults: boolean;
  /** The budget cut the live run made, replayed at the same time. */
  readonly budgetCut?: { readonly atMs: number; readonly cluster: string; readonly toWatts: number };
  readonly sessionTurns: {
    readonly model: string;
    readonly turns: readonly { readonly atMs: number; readonly inputTokens: number; readonly outputTokens: number }[];
  };
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
  const stateless = assignMix(
    rows,
    { models: options.models, classes: options.classes, regions: options.regions },
    options.seed,
  );
  const turns: SimRequest[] = options.sessionTurns.turns.map((turn) => ({
    arrivalMs: Math.max(0, turn.atMs),
    model: options.sessionTurns.model,
    inputTokens: turn.inputTokens,
    outputTokens: Math.max(1, turn.outputTokens),
    sloClass: 'interactive',
  }));
  // Stable merge by arrival: each request remembers whether it is a turn, for the live comparison.
  const tagged = [
    ...stateless.map((request) => ({ request, turn: false })),
    ...turns.map((request) => ({ request, turn: true })),
  ].sort((a, b) => a.request.arrivalMs - b.request.arrivalMs);
  const requests = tagged.map((t) => t.request);
  const fleet = {
    topology: DEMO_TOPOLOGY,
    groups: options.fleet.map((g) => ({
      cluster: g.cluster,
      profile: g.profile,
      count: g.nodes,
      chips: g.chips,
      models: g.models,
    })),
  };
  const budgetChanges =
    options.budgetCut === undefined
      ? []
      : [{ atMs: options.budgetCut.atMs, cluster: options.budgetCut.cluster, budgetWatts: options.budgetCut.toWatts }];
  const report = runPlan({
    title: 'Switchyard demo fleet: capacity plan',
    fleet,
    budgetChanges,
    fleetSource: 'the demo fleet (bench/src/demo/demo-fleet.ts)',
    requests,
    workloadSource:
      `the demo's load: Poisson ${options.ratePerS} req/s for ${Math.round(options.durationMs / 1000)} s, ` +
      `and its ${turns.length} session turns as sent`,
    skippedRows: 0,
    seed: options.seed,
    targets: options.targets,
    capacityTarget: 0.99,
    capacityMaxTrials: 40,
  });
  await mkdir(options.logDir, { recursive: true });
  const htmlPath = join(options.logDir, 'plan.html');
  await writeFile(htmlPath, renderPlanHtml(report));
  await writeFile(join(options.logDir, 'plan.md'), renderPlanMarkdown(report));
  await writeFile(join(options.logDir, 'plan.json'), `${JSON.stringify(report, null, 2)}\n`);

  const served = options.live.filter((o) => o.code === 'ok' && o.clientTtftMs !== undefined);
  const liveTtft = sortedCopy(served.map((o) => o.clientTtftMs!));
  // The live figures are of stateless requests (a turn's latency is not its TTFT): compare like with like.
  const replay = simulate({
    ...fleet,
    requests,
    budgetChanges,
    seed: options.seed,
    placement: POLICIES['switchyard']!,
  });
  const simTtft = sortedCopy(
    replay.outcomes.filter((o, i) => !tagged[i]!.turn && o.refused === undefined).map((o) => o.ttftMs),
  );
  const lines = [
    `▸ capacity plan: the same fleet and a load like this run's, simulated in virtual time (${Math.round(report.simulator.requestsPerWallSecond)} requests per wall second)`,
    formatPolicyComparison(report.policies),
  ];
  if (simTtft.length > 0 && liveTtft.length > 0) {
    lines.push(
      '',
      formatTable(
        ['switchyard, stateless requests', 'TTFT p50 ms', 'TTFT p99 ms', 'served'],
        [
          [
            options.faults ? 'live (this run, processes killed)' : 'live (this run)',
            Math.round(percentile(liveTtft, 50)),
            Math.round(percentile(liveTtft, 99)),
            served.length,
          ],
          [
            options.budgetCut === undefined ? 'simulated' : 'simulated (same budget cut)',
            Math.round(percentile(simTtft, 50)),
            Math.round(percentile(simTtft, 99)),
            simTtft.length,
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
      : `smallest fleet meeting 99% of every class's SLO for this load (${stateless.length} requests and ${turns.length} session turns): ` +
          describeFleetMix(smallest.fleet) +
          ` (${smallest.fleet.nodes} of ${report.fleet.mix.nodes} nodes, ${(smallest.fleet.ratedWatts / 1000).toFixed(1)} of ${(report.fleet.mix.ratedWatts / 1000).toFixed(1)} kW rated)`,
    `report: ${htmlPath} (switchyard plan --help for your own fleet and traces)`,
  );
  return { report, htmlPath, text: lines.join('\n') };
}
