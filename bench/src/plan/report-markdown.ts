/**
 * The capacity plan as GitHub-flavoured Markdown: the HTML report's facts as tables, for pull
 * requests, tickets and terminals. Charts become tables of their peaks and means. Every name from
 * the user's files is escaped, so a `|` cannot split a table cell and `<` cannot open a tag.
 */
import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';
import {
  budgetOverruns,
  clusterNames,
  glanceFacts,
  requestsByClass,
  requestsByModel,
  targetText,
} from './plan-facts.js';
import {
  formatCount,
  formatNodes,
  formatJoules,
  formatMs,
  formatNodeMix,
  formatPercent,
  formatSignedPercent,
  formatWatts,
  NO_FIGURE,
} from './plan-format.js';
import type { CapacityTrial, PlanReport } from './plan-report.js';

const CLASS_NAMES: Record<SloClass, string> = { interactive: 'Interactive', standard: 'Standard', batch: 'Batch' };

/** Text safe in a Markdown paragraph or table cell: markup characters escaped, line breaks flattened. */
export function escapeMarkdown(text: string): string {
  return text.replaceAll(/\r\n|\r|\n/g, ' ').replaceAll(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`);
}

/** A table; `alignRight` marks numeric columns. Cells are escaped here. */
function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  alignRight: readonly boolean[],
): string {
  const rule = `|${headers.map((_, i) => (alignRight[i] === true ? ' --: ' : ' --- ')).join('|')}|`;
  return [tableRow(headers), rule, ...rows.map(tableRow)].join('\n');
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.map(escapeMarkdown).join(' | ')} |`;
}

function mean(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? Number.NaN : finite.reduce((sum, v) => sum + v, 0) / finite.length;
}

function peak(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? Number.NaN : Math.max(...finite);
}

function header(report: PlanReport): string {
  const { fleet, workload, simulator } = report;
  const skipped =
    workload.skippedRows > 0
      ? ` **${formatCount(workload.skippedRows)} bad rows skipped** and left out of every figure.`
      : ' No rows skipped.';
  return [
    `# ${escapeMarkdown(report.title)}`,
    '',
    escapeMarkdown(`Generated ${report.generatedAt} · seed ${report.seed} · ${report.schema}`),
    '',
    `- **Fleet:** ${escapeMarkdown(`${fleet.source}: ${formatNodes(fleet.mix.nodes)} in ${formatCount(fleet.clusters.length)} clusters, rated peak ${formatWatts(fleet.mix.ratedWatts)}`)}`,
    `- **Workload:** ${escapeMarkdown(`${workload.source}: ${formatCount(workload.requests)} requests over ${formatMs(workload.spanMs)} (${requestsByClass(report)}; ${requestsByModel(report)}).`)}${skipped}`,
    `- **SLO targets:** ${escapeMarkdown(SLO_CLASSES.map((c) => `${c}: ${targetText(c, report.targets)}`).join(' · '))}`,
    `- **Simulator:** ${escapeMarkdown(`${formatCount(simulator.simulatedRequests)} requests simulated in ${formatMs(simulator.wallMs)} of wall time (${formatCount(simulator.requestsPerWallSecond)} requests per second)`)}`,
  ].join('\n');
}

function fleetTable(report: PlanReport): string {
  const { clusters, mix } = report.fleet;
  const budgets = new Map(clusters.map((c) => [c.name, c]));
  const rows = clusterNames(report).map((name) => {
    const groups = mix.groups.filter((g) => g.cluster === name);
    const profiles = groups.map((g) => `${formatCount(g.count)} × ${g.profile}`).join(', ');
    return [
      name,
      budgets.get(name)?.location ?? NO_FIGURE,
      formatWatts(budgets.get(name)?.powerBudgetWatts ?? Number.NaN),
      formatCount(groups.reduce((sum, g) => sum + g.count, 0)),
      profiles === '' ? 'no nodes' : profiles,
    ];
  });
  const totalBudget = clusters.reduce((sum, c) => sum + c.powerBudgetWatts, 0);
  rows.push([
    'Fleet',
    '',
    formatWatts(totalBudget),
    formatCount(mix.nodes),
    `rated peak ${formatWatts(mix.ratedWatts)} (every node at full power)`,
  ]);
  return table(['Cluster', 'Location', 'Power budget', 'Nodes', 'Node mix'], rows, [false, false, true, true, false]);
}

function policyTable(report: PlanReport): string {
  const rows = report.policies.map(({ summary: s }) => {
    const codes = Object.entries(s.refusedByCode)
      .filter(([, n]) => n > 0)
      .map(([code, n]) => `${code} ${formatCount(n)}`)
      .join(', ');
    const share = s.requests > 0 ? ` (${formatPercent(s.refused / s.requests)})` : '';
    return [
      s.policy,
      formatCount(s.requests),
      formatMs(s.ttftMs.p50),
      formatMs(s.ttftMs.p90),
      formatMs(s.ttftMs.p99),
      formatMs(s.totalMs.p99),
      ...SLO_CLASSES.map((c) => formatPercent(s.attainment[c])),
      formatPercent(s.overallAttainment),
      `${formatCount(s.refused)}${share}${codes === '' ? '' : `: ${codes}`}`,
      formatJoules(s.joulesPer1kTokens),
      formatWatts(s.peakFleetWatts),
    ];
  });
  const headers = [
    'Policy',
    'Requests',
    'TTFT p50',
    'TTFT p90',
    'TTFT p99',
    'End-to-end p99',
    ...SLO_CLASSES.map((c) => CLASS_NAMES[c]),
    'Overall',
    'Refused',
    'J per 1k tokens',
    'Peak fleet draw',
  ];
  return table(
    headers,
    rows,
    headers.map((_, i) => i > 0),
  );
}

function clusterTable(report: PlanReport): string {
  const overruns = budgetOverruns(report);
  const rows = clusterNames(report).flatMap((cluster) =>
    report.policies.map((run) => {
      const series = run.series.clusters.find((c) => c.cluster === cluster);
      const over = overruns.find((o) => o.cluster === cluster && o.policy === run.summary.policy);
      const measured = series?.powerWatts.filter(Number.isFinite).length ?? 0;
      return [
        cluster,
        run.summary.policy,
        formatWatts(series?.powerBudgetWatts ?? Number.NaN),
        formatWatts(mean(series?.powerWatts ?? [])),
        formatWatts(peak(series?.powerWatts ?? [])),
        `${formatCount(over?.buckets ?? 0)} of ${formatCount(measured)}`,
        formatPercent(mean(series?.utilisation ?? [])),
        formatPercent(peak(series?.utilisation ?? [])),
      ];
    }),
  );
  return table(
    [
      'Cluster',
      'Policy',
      'Budget',
      'Mean power',
      'Peak power',
      'Buckets over budget',
      'Mean utilisation',
      'Peak utilisation',
    ],
    rows,
    [false, false, true, true, true, true, true, true],
  );
}

function trialRow(trial: CapacityTrial, index: number, isAnswer: boolean): string[] {
  return [
    String(index + 1),
    formatCount(trial.fleet.nodes),
    formatNodeMix(trial.fleet),
    formatWatts(trial.fleet.ratedWatts),
    ...SLO_CLASSES.map((c) => formatPercent(trial.attainment[c])),
    formatPercent(trial.overallAttainment),
    formatWatts(trial.peakFleetWatts),
    formatJoules(trial.joulesPer1kTokens),
    `${trial.meetsTarget ? 'yes' : 'no'}${isAnswer ? ' (answer)' : ''}`,
  ];
}

function capacitySection(report: PlanReport): string {
  const capacity = report.capacity;
  if (capacity === undefined) return '## Capacity\n\nNo capacity search was run for this plan.';
  const target = formatPercent(capacity.targetAttainment);
  const { smallest } = capacity;
  const answer =
    smallest === undefined
      ? `**No fleet within the search limits met ${escapeMarkdown(target)} in every class under ${escapeMarkdown(capacity.policy)}.** ${escapeMarkdown(capacity.reason ?? 'The search gave no reason.')}`
      : [
          `**${formatNodes(smallest.fleet.nodes)}, rated peak ${escapeMarkdown(formatWatts(smallest.fleet.ratedWatts))}**: the smallest fleet tried that meets ${escapeMarkdown(target)} in every class under ${escapeMarkdown(capacity.policy)}.`,
          '',
          escapeMarkdown(formatNodeMix(smallest.fleet)),
          '',
          escapeMarkdown(
            `Attainment ${SLO_CLASSES.map((c) => `${c} ${formatPercent(smallest.attainment[c])}`).join(', ')} (overall ${formatPercent(smallest.overallAttainment)}); peak draw ${formatWatts(smallest.peakFleetWatts)}; ${formatJoules(smallest.joulesPer1kTokens)} per 1k tokens. The fleet file has ${formatNodes(report.fleet.mix.nodes)}, rated ${formatWatts(report.fleet.mix.ratedWatts)}.`,
          ),
        ].join('\n');
  const headers = [
    '#',
    'Nodes',
    'Node mix',
    'Rated peak',
    ...SLO_CLASSES.map((c) => CLASS_NAMES[c]),
    'Overall',
    'Peak draw',
    'J per 1k tokens',
    `Meets ${target}`,
  ];
  const rows = capacity.trials.map((trial, i) =>
    trialRow(
      trial,
      i,
      trial === smallest || (smallest !== undefined && JSON.stringify(trial) === JSON.stringify(smallest)),
    ),
  );
  const trials = table(
    headers,
    rows,
    headers.map((_, i) => i !== 2 && i !== headers.length - 1),
  );
  return `## Capacity\n\n${answer}\n\n### Fleets tried, in order\n\n${trials}`;
}

function calibrationSection(report: PlanReport): string {
  const calibration = report.calibration;
  if (calibration === undefined)
    return '## Calibration\n\nNo calibration was run: the simulated latencies and power in this plan have not been checked against a live run.';
  const { live, simulated, relativeError: error } = calibration;
  const rows = [
    ['TTFT p50', formatMs(live.ttftP50Ms), formatMs(simulated.ttftP50Ms), formatSignedPercent(error.ttftP50)],
    ['TTFT p99', formatMs(live.ttftP99Ms), formatMs(simulated.ttftP99Ms), formatSignedPercent(error.ttftP99)],
    [
      'Mean power',
      formatWatts(live.meanPowerWatts),
      formatWatts(simulated.meanPowerWatts),
      formatSignedPercent(error.meanPower),
    ],
  ];
  return `## Calibration\n\n${escapeMarkdown(`The simulator against a live run of the same small scenario: ${calibration.scenario}. Difference is (simulated − live) / live.`)}\n\n${table(['Figure', 'Live', 'Simulated', 'Difference'], rows, [false, true, true, true])}`;
}

/** The whole plan as GitHub-flavoured Markdown. */
export function renderPlanMarkdown(report: PlanReport): string {
  return `${[
    header(report),
    `## At a glance\n\n${glanceFacts(report)
      .map((fact) => `- ${escapeMarkdown(fact)}`)
      .join('\n')}`,
    `## Fleet\n\n${fleetTable(report)}`,
    `## Placement policies compared\n\nEvery policy placed the same ${formatCount(report.workload.requests)} requests on the same fleet. Attainment counts refused requests as missed; percentiles are of served requests, and a dash means the policy served none.\n\n${policyTable(report)}`,
    `## Power and utilisation per cluster\n\nMeans over each policy's buckets; shorter peaks inside a bucket are not shown.\n\n${clusterTable(report)}`,
    capacitySection(report),
    calibrationSection(report),
  ].join('\n\n')}\n`;
}
