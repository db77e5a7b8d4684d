/**
 * What the plan's renderers derive from a PlanReport beyond its figures (the clusters to chart,
 * which policies went over a budget, the few sentences a buyer reads first), so the HTML and the
 * Markdown report say the same things in the same words.
 */
import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';
import {
  formatCount,
  formatNodes,
  formatJoules,
  formatMs,
  formatPercent,
  formatSignedPercent,
  formatWatts,
} from './plan-format.js';
import type { PlanReport, SloTargets } from './plan-report.js';

/** What a class is judged against, in words: `TTFT ≤ 1.00 s`. */
export function targetText(sloClass: SloClass, targets: SloTargets): string {
  if (sloClass === 'interactive') return `TTFT ≤ ${formatMs(targets.interactiveTtftMs)}`;
  return `end-to-end ≤ ${formatMs(sloClass === 'standard' ? targets.standardTotalMs : targets.batchTotalMs)}`;
}

/** The fleet file's clusters in its order, then any cluster only the simulation's series name. */
export function clusterNames(report: PlanReport): string[] {
  const names = new Set(report.fleet.clusters.map((c) => c.name));
  for (const run of report.policies) for (const series of run.series.clusters) names.add(series.cluster);
  return [...names];
}

/** A policy whose bucket-mean power went over a cluster's budget. */
export interface BudgetOverrun {
  readonly policy: string;
  readonly cluster: string;
  /** Buckets over the budget, of `of` buckets with a figure. */
  readonly buckets: number;
  readonly of: number;
  readonly peakWatts: number;
  readonly budgetWatts: number;
}

/** Every policy and cluster whose mean draw was over budget in at least one bucket. */
export function budgetOverruns(report: PlanReport): BudgetOverrun[] {
  const overruns: BudgetOverrun[] = [];
  for (const run of report.policies) {
    for (const series of run.series.clusters) {
      const measured = series.powerWatts.filter(Number.isFinite);
      const over = measured.filter((watts) => watts > series.powerBudgetWatts);
      if (over.length === 0) continue;
      overruns.push({
        policy: run.summary.policy,
        cluster: series.cluster,
        buckets: over.length,
        of: measured.length,
        peakWatts: Math.max(...over),
        budgetWatts: series.powerBudgetWatts,
      });
    }
  }
  return overruns;
}

/** Names of the policies with the best finite figure (all of them on a tie), and that figure. */
function leaders(report: PlanReport, figure: (run: PlanReport['policies'][number]) => number, better: 'low' | 'high') {
  const scored = report.policies.map((run) => ({ name: run.summary.policy, value: figure(run) }));
  const finite = scored.filter((s) => Number.isFinite(s.value));
  if (finite.length === 0) return undefined;
  const value = better === 'low' ? Math.min(...finite.map((s) => s.value)) : Math.max(...finite.map((s) => s.value));
  return { names: finite.filter((s) => s.value === value).map((s) => s.name), value };
}

/** The sentences a reader sees first: the capacity answer, the leaders, budget overruns, calibration. */
export function glanceFacts(report: PlanReport): string[] {
  const facts: string[] = [];
  const capacity = report.capacity;
  if (capacity !== undefined) {
    const target = formatPercent(capacity.targetAttainment);
    const found = capacity.smallest;
    facts.push(
      found === undefined
        ? `No fleet within the search limits met ${target} in every class under ${capacity.policy}: ${capacity.reason ?? 'the search gave no reason'}.`
        : `Smallest fleet tried that meets ${target} in every class under ${capacity.policy}: ${formatNodes(found.fleet.nodes)}, rated peak ${formatWatts(found.fleet.ratedWatts)}, peak draw ${formatWatts(found.peakFleetWatts)} (the fleet file: ${formatNodes(report.fleet.mix.nodes)}, rated ${formatWatts(report.fleet.mix.ratedWatts)}).`,
    );
  }
  const attainment = leaders(report, (run) => run.summary.overallAttainment, 'high');
  if (attainment !== undefined)
    facts.push(`Highest overall SLO attainment: ${attainment.names.join(', ')} (${formatPercent(attainment.value)}).`);
  const energy = leaders(report, (run) => run.summary.joulesPer1kTokens, 'low');
  if (energy !== undefined)
    facts.push(`Least energy per 1,000 tokens: ${energy.names.join(', ')} (${formatJoules(energy.value)}).`);
  const p99 = leaders(report, (run) => run.summary.ttftMs.p99, 'low');
  if (p99 !== undefined) facts.push(`Lowest TTFT p99: ${p99.names.join(', ')} (${formatMs(p99.value)}).`);
  const overruns = budgetOverruns(report);
  facts.push(
    overruns.length === 0
      ? 'No policy’s bucket-mean power went over any cluster’s budget.'
      : `Over a cluster’s power budget (bucket means): ${overruns
          .map(
            (o) =>
              `${o.policy} in ${o.cluster}, ${formatCount(o.buckets)} of ${formatCount(o.of)} buckets, peak ${formatWatts(o.peakWatts)} against ${formatWatts(o.budgetWatts)}`,
          )
          .join('; ')}.`,
  );
  const calibration = report.calibration;
  const error = calibration?.relativeError;
  facts.push(
    error === undefined
      ? 'No calibration against a live run: the simulated latencies and power are unverified.'
      : `Simulator against a live run: TTFT p50 ${formatSignedPercent(error.ttftP50)}, TTFT p99 ${formatSignedPercent(error.ttftP99)}, mean power ${formatSignedPercent(error.meanPower)}.`,
  );
  return facts;
}

/** The workload's requests by class, in words: `7,488 interactive, 3,120 standard, 1,872 batch`. */
export function requestsByClass(report: PlanReport): string {
  return SLO_CLASSES.map((c) => `${formatCount(report.workload.byClass[c])} ${c}`).join(', ');
}

/** The workload's requests by model, most first. */
export function requestsByModel(report: PlanReport): string {
  const models = Object.entries(report.workload.byModel).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return models.length === 0 ? 'no models' : models.map(([model, n]) => `${formatCount(n)} ${model}`).join(', ');
}
