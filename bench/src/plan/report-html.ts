/**
 * The capacity plan as one self-contained HTML document: inline CSS and SVG, no script, nothing
 * fetched, so it opens offline, mails as one file and prints. Every name from the user's files is
 * escaped. Charts and key tables carry `data-testid`s; each chart's series shapes carry
 * `data-series`, so tests can check what was drawn.
 */
import { SLO_CLASSES, type SloClass } from '@switchyard/protocol';
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
import type { CapacityAnswer, CapacityTrial, PlanReport } from './plan-report.js';
import { REPORT_STYLE } from './report-style.js';
import { type Bar, barChart, escapeXml as esc, lineChart, SERIES_COLOURS, SERIES_DASHES } from './svg-charts.js';
import {
  budgetOverruns,
  clusterNames,
  glanceFacts,
  requestsByClass,
  requestsByModel,
  targetText,
} from './plan-facts.js';

const CLASS_NAMES: Record<SloClass, string> = { interactive: 'Interactive', standard: 'Standard', batch: 'Batch' };
/** Column headings, with a soft hyphen where a narrow printed table may break a word. */
const CLASS_HEADINGS: Record<SloClass, string> = {
  interactive: 'Inter&shy;active',
  standard: 'Stan&shy;dard',
  batch: 'Batch',
};

/** Each policy's colour and dash, the same in every chart and table. */
function policyStyles(report: PlanReport): Map<string, { colour: string; dash: string }> {
  return new Map(
    report.policies.map((run, i) => [
      run.summary.policy,
      {
        colour: SERIES_COLOURS[i % SERIES_COLOURS.length] ?? '#000',
        dash: SERIES_DASHES[i % SERIES_DASHES.length] ?? '',
      },
    ]),
  );
}

function msTick(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 1_000_000) return `${Number((ms / 1_000).toPrecision(4))} s`;
  return `${Number((ms / 60_000).toPrecision(3))} min`;
}
const percentTick = (share: number): string => `${Number((share * 100).toPrecision(4))}%`;
function wattsTick(maxWatts: number): (watts: number) => string {
  return maxWatts >= 10_000
    ? (watts) => `${Number((watts / 1_000).toPrecision(4))} kW`
    : (watts) => `${watts.toLocaleString('en-US')} W`;
}

function numCell(text: string, bold = false): string {
  return `<td class="num">${bold ? `<strong>${esc(text)}</strong>` : esc(text)}</td>`;
}

function swatch(style: { colour: string; dash: string } | undefined): string {
  if (style === undefined) return '';
  const border = style.dash === '' ? 'solid' : 'dashed';
  return `<span class="swatch" style="border-top-color: ${esc(style.colour)}; border-top-style: ${border}" aria-hidden="true"></span>`;
}

function header(report: PlanReport): string {
  const { fleet, workload, simulator } = report;
  const skipped =
    workload.skippedRows > 0
      ? ` <span class="warn">${esc(formatCount(workload.skippedRows))} bad rows skipped and left out of every figure</span>`
      : ' No rows skipped.';
  return `<header>
<h1>${esc(report.title)}</h1>
<p class="muted">Generated ${esc(report.generatedAt)} · seed ${esc(String(report.seed))} · ${esc(report.schema)}</p>
<dl class="facts">
<dt>Fleet</dt><dd>${esc(fleet.source)}: ${esc(formatNodes(fleet.mix.nodes))} in ${esc(formatCount(fleet.clusters.length))} clusters, rated peak ${esc(formatWatts(fleet.mix.ratedWatts))}</dd>
<dt>Workload</dt><dd>${esc(workload.source)}: ${esc(formatCount(workload.requests))} requests over ${esc(formatMs(workload.spanMs))} (${esc(requestsByClass(report))}; ${esc(requestsByModel(report))}).${skipped}</dd>
<dt>SLO targets</dt><dd>${esc(SLO_CLASSES.map((c) => `${c}: ${targetText(c, report.targets)}`).join(' · '))}</dd>
<dt>Simulator</dt><dd>${esc(formatCount(simulator.simulatedRequests))} requests simulated in ${esc(formatMs(simulator.wallMs))} of wall time (${esc(formatCount(simulator.requestsPerWallSecond))} requests per second)</dd>
</dl>
</header>`;
}

function fleetTable(report: PlanReport): string {
  const { clusters, mix } = report.fleet;
  const budgets = new Map(clusters.map((c) => [c.name, c]));
  const rows = clusterNames(report).map((name) => {
    const cluster = budgets.get(name);
    const groups = mix.groups.filter((g) => g.cluster === name);
    const nodes = groups.reduce((sum, g) => sum + g.count, 0);
    const profiles = groups.map((g) => `${formatCount(g.count)} × ${g.profile}`).join(', ');
    return `<tr><td class="name">${esc(name)}</td><td>${esc(cluster?.location ?? NO_FIGURE)}</td>${numCell(formatWatts(cluster?.powerBudgetWatts ?? Number.NaN))}${numCell(formatCount(nodes))}<td>${esc(profiles === '' ? 'no nodes' : profiles)}</td></tr>`;
  });
  const totalBudget = clusters.reduce((sum, c) => sum + c.powerBudgetWatts, 0);
  return `<div class="table-wrap"><table data-testid="fleet-table">
<thead><tr><th>Cluster</th><th>Location</th><th class="num">Power budget</th><th class="num">Nodes</th><th>Node mix</th></tr></thead>
<tbody>${rows.join('\n')}
<tr class="total"><td>Fleet</td><td></td>${numCell(formatWatts(totalBudget))}${numCell(formatCount(mix.nodes))}<td>rated peak ${esc(formatWatts(mix.ratedWatts))} (every node at full power)</td></tr></tbody></table></div>`;
}

/** Indices of the best finite values (all of them on a tie). */
function best(values: readonly number[], better: 'low' | 'high'): Set<number> {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return new Set();
  const target = better === 'low' ? Math.min(...finite) : Math.max(...finite);
  return new Set(values.flatMap((v, i) => (v === target ? [i] : [])));
}

function policyTable(report: PlanReport): string {
  const styles = policyStyles(report);
  const summaries = report.policies.map((run) => run.summary);
  const bestP99 = best(
    summaries.map((s) => s.ttftMs.p99),
    'low',
  );
  const bestOverall = best(
    summaries.map((s) => s.overallAttainment),
    'high',
  );
  const bestEnergy = best(
    summaries.map((s) => s.joulesPer1kTokens),
    'low',
  );
  const rows = summaries.map((s, i) => {
    const codes = Object.entries(s.refusedByCode)
      .filter(([, n]) => n > 0)
      .map(([code, n]) => `${code} ${formatCount(n)}`)
      .join(' · ');
    const refusedShare = s.requests > 0 ? ` (${formatPercent(s.refused / s.requests)})` : '';
    return `<tr data-policy="${esc(s.policy)}"><td class="name">${swatch(styles.get(s.policy))}${esc(s.policy)}</td>${numCell(formatCount(s.requests))}${numCell(formatMs(s.ttftMs.p50))}${numCell(formatMs(s.ttftMs.p90))}${numCell(formatMs(s.ttftMs.p99), bestP99.has(i))}${numCell(formatMs(s.totalMs.p99))}${SLO_CLASSES.map((c) => numCell(formatPercent(s.attainment[c]))).join('')}${numCell(formatPercent(s.overallAttainment), bestOverall.has(i))}<td class="num">${esc(formatCount(s.refused))}${esc(refusedShare)}${codes === '' ? '' : `<div class="codes muted">${esc(codes)}</div>`}</td>${numCell(formatJoules(s.joulesPer1kTokens), bestEnergy.has(i))}${numCell(formatWatts(s.peakFleetWatts))}</tr>`;
  });
  return `<div class="table-wrap"><table data-testid="policy-table">
<thead><tr><th rowspan="2">Policy</th><th rowspan="2" class="num">Requests</th><th colspan="3" class="group">TTFT</th><th rowspan="2" class="num">End-to-end p99</th><th colspan="4" class="group">SLO attainment</th><th rowspan="2" class="num">Refused</th><th rowspan="2" class="num">J per 1k tokens</th><th rowspan="2" class="num">Peak fleet draw</th></tr>
<tr><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th>${SLO_CLASSES.map((c) => `<th class="num">${CLASS_HEADINGS[c]}</th>`).join('')}<th class="num">Overall</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
<p class="muted">Bold: best in its column. Attainment counts refused requests as missed. Percentiles are of served requests; a dash means the policy served none. Peak fleet draw is the highest one-bucket mean of the whole fleet.</p>`;
}

function figure(testid: string, caption: string, note: string, svg: string): string {
  return `<figure data-testid="${esc(testid)}"><figcaption><b>${esc(caption)}</b><span class="muted">${esc(note)}</span></figcaption>${svg}</figure>`;
}

function cdfChart(report: PlanReport, which: 'ttft' | 'total'): string {
  const styles = policyStyles(report);
  const series = report.policies.map((run) => ({
    name: run.summary.policy,
    colour: styles.get(run.summary.policy)?.colour ?? '#000',
    dash: styles.get(run.summary.policy)?.dash ?? '',
    points: (which === 'ttft' ? run.ttftCdf : run.totalCdf).map((p) => ({ x: p.ms, y: p.fraction })),
  }));
  const t = report.targets;
  const references =
    which === 'ttft'
      ? [
          {
            axis: 'x' as const,
            value: t.interactiveTtftMs,
            label: `interactive target ${formatMs(t.interactiveTtftMs)}`,
          },
        ]
      : [{ axis: 'x' as const, value: t.standardTotalMs, label: `standard target ${formatMs(t.standardTotalMs)}` }];
  const title = which === 'ttft' ? 'Time to first token' : 'End-to-end latency (arrival to last token)';
  const svg = lineChart({
    title: `${title}: cumulative share of served requests, one line per policy`,
    x: { label: `${which === 'ttft' ? 'TTFT' : 'end-to-end latency'} (log scale)`, format: msTick, scale: 'log' },
    y: { label: 'share of served requests', format: percentTick, min: 0, max: 1 },
    series,
    references,
  });
  return figure(
    which === 'ttft' ? 'chart-ttft-cdf' : 'chart-total-cdf',
    title,
    'Further left is faster; read across at 90% or 99% to compare percentiles. Refused requests are not in these curves.',
    svg,
  );
}

function clusterCharts(report: PlanReport, what: 'power' | 'util'): string {
  const styles = policyStyles(report);
  const budgets = new Map(report.fleet.clusters.map((c) => [c.name, c.powerBudgetWatts]));
  const overruns = budgetOverruns(report);
  return clusterNames(report)
    .map((cluster) => {
      const series = report.policies.map((run) => {
        const found = run.series.clusters.find((c) => c.cluster === cluster);
        const values = (what === 'power' ? found?.powerWatts : found?.utilisation) ?? [];
        const style = styles.get(run.summary.policy);
        return {
          name: run.summary.policy,
          colour: style?.colour ?? '#000',
          dash: style?.dash ?? '',
          // Each bucket's mean is drawn at the bucket's middle.
          points: values.map((y, i) => ({ x: ((i + 0.5) * run.series.bucketMs) / 60_000, y })),
        };
      });
      const bucketMs = report.policies[0]?.series.bucketMs ?? Number.NaN;
      const x = { label: 'simulated time (minutes)', format: (m: number) => String(m), min: 0 };
      if (what === 'util') {
        const svg = lineChart({
          title: `Utilisation of ${cluster}: share of batch slots in use, one line per policy`,
          x,
          y: { label: 'batch slots in use', format: percentTick, min: 0, max: 1 },
          series,
        });
        return figure(
          `chart-util-${cluster}`,
          `Utilisation in ${cluster}`,
          `Means over ${formatMs(bucketMs)} buckets.`,
          svg,
        );
      }
      const budget =
        budgets.get(cluster) ??
        report.policies.flatMap((r) => r.series.clusters).find((c) => c.cluster === cluster)?.powerBudgetWatts;
      const maxWatts = Math.max(
        budget ?? 0,
        ...series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite),
      );
      const over = overruns.filter((o) => o.cluster === cluster);
      const note =
        `Means over ${formatMs(bucketMs)} buckets; shorter peaks inside a bucket are not shown. ` +
        (over.length === 0
          ? 'No policy went over the budget.'
          : `Over budget: ${over.map((o) => `${o.policy} in ${o.buckets} of ${o.of} buckets (peak ${formatWatts(o.peakWatts)})`).join('; ')}.`);
      const svg = lineChart({
        title: `Power drawn in ${cluster}, one line per policy, with the cluster's budget`,
        x,
        y: { label: 'mean power', format: wattsTick(maxWatts), min: 0 },
        series,
        references: budget === undefined ? [] : [{ axis: 'y', value: budget, label: `budget ${formatWatts(budget)}` }],
      });
      return figure(`chart-power-${cluster}`, `Power in ${cluster}`, note, svg);
    })
    .join('\n');
}

function attainmentChart(report: PlanReport): string {
  const styles = policyStyles(report);
  const groups = [
    ...SLO_CLASSES.map((c) => ({
      label: `${CLASS_NAMES[c]} (${targetText(c, report.targets)})`,
      bars: report.policies.map((run): Bar => ({
        series: run.summary.policy,
        colour: styles.get(run.summary.policy)?.colour ?? '#000',
        value: run.summary.attainment[c],
        missingLabel: 'no requests of this class',
      })),
    })),
    {
      label: 'All classes',
      bars: report.policies.map((run): Bar => ({
        series: run.summary.policy,
        colour: styles.get(run.summary.policy)?.colour ?? '#000',
        value: run.summary.overallAttainment,
        missingLabel: 'no requests',
      })),
    },
  ];
  const target = report.capacity?.targetAttainment;
  const svg = barChart({
    title: 'SLO attainment per class and policy: share of requests that met their target, refused counted as missed',
    groups,
    value: { label: 'share of requests meeting their SLO', format: percentTick, max: 1 },
    valueFormat: formatPercent,
    ...(target === undefined ? {} : { reference: { value: target, label: `target ${formatPercent(target)}` } }),
  });
  return figure(
    'chart-attainment',
    'SLO attainment',
    'Bars start at zero, so gaps near 100% are hard to see: read the printed values.',
    svg,
  );
}

function energyChart(report: PlanReport): string {
  const styles = policyStyles(report);
  const bars = report.policies.map((run): Bar => ({
    series: run.summary.policy,
    colour: styles.get(run.summary.policy)?.colour ?? '#000',
    value: run.summary.joulesPer1kTokens,
    missingLabel: 'served nothing',
  }));
  const svg = barChart({
    title: 'Energy per 1,000 tokens served, per policy',
    groups: [{ label: '', bars }],
    value: { label: 'joules per 1,000 tokens (prompt and output)', format: (j) => `${j.toLocaleString('en-US')} J` },
    valueFormat: formatJoules,
  });
  return figure(
    'chart-energy',
    'Energy per 1,000 tokens',
    'Lower is better: energy drawn per 1,000 prompt and output tokens served.',
    svg,
  );
}

function trialCells(trial: CapacityTrial): string {
  return `${numCell(formatCount(trial.fleet.nodes))}<td>${esc(formatNodeMix(trial.fleet))}</td>${numCell(formatWatts(trial.fleet.ratedWatts))}${SLO_CLASSES.map((c) => numCell(formatPercent(trial.attainment[c]))).join('')}${numCell(formatPercent(trial.overallAttainment))}${numCell(formatWatts(trial.peakFleetWatts))}${numCell(formatJoules(trial.joulesPer1kTokens))}`;
}

function capacitySection(report: PlanReport): string {
  const capacity: CapacityAnswer | undefined = report.capacity;
  if (capacity === undefined) return '<h2>Capacity</h2>\n<p>No capacity search was run for this plan.</p>';
  const target = formatPercent(capacity.targetAttainment);
  const { smallest } = capacity;
  const answer =
    smallest === undefined
      ? `<div class="answer" data-testid="capacity-answer" data-found="false"><p class="big">No fleet within the search limits met ${esc(target)} in every class under <b>${esc(capacity.policy)}</b>.</p><p>${esc(capacity.reason ?? 'The search gave no reason.')}</p></div>`
      : `<div class="answer" data-testid="capacity-answer" data-found="true"><p class="big"><b>${esc(formatNodes(smallest.fleet.nodes))}</b>, rated peak <b>${esc(formatWatts(smallest.fleet.ratedWatts))}</b>: the smallest fleet tried that meets ${esc(target)} in every class under <b>${esc(capacity.policy)}</b>.</p>
<p>${esc(formatNodeMix(smallest.fleet))}</p>
<p>Attainment ${esc(SLO_CLASSES.map((c) => `${c} ${formatPercent(smallest.attainment[c])}`).join(', '))} (overall ${esc(formatPercent(smallest.overallAttainment))}); peak draw ${esc(formatWatts(smallest.peakFleetWatts))}; ${esc(formatJoules(smallest.joulesPer1kTokens))} per 1k tokens. The fleet file has ${esc(formatNodes(report.fleet.mix.nodes))}, rated ${esc(formatWatts(report.fleet.mix.ratedWatts))}.</p></div>`;
  const rows = capacity.trials.map((trial, i) => {
    const isAnswer =
      trial === smallest || (smallest !== undefined && JSON.stringify(trial) === JSON.stringify(smallest));
    return `<tr${isAnswer ? ' class="answer-row"' : ''}>${numCell(String(i + 1))}${trialCells(trial)}<td>${trial.meetsTarget ? 'yes' : 'no'}${isAnswer ? ' (answer)' : ''}</td></tr>`;
  });
  return `<h2>Capacity</h2>
${answer}
<h3>Fleets tried, in order</h3>
<div class="table-wrap"><table data-testid="capacity-trials">
<thead><tr><th class="num">#</th><th class="num">Nodes</th><th>Node mix</th><th class="num">Rated peak</th>${SLO_CLASSES.map((c) => `<th class="num">${CLASS_HEADINGS[c]}</th>`).join('')}<th class="num">Overall</th><th class="num">Peak draw</th><th class="num">J per 1k tokens</th><th>Meets ${esc(target)}</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function calibrationRow(figureName: string, live: string, simulated: string, relativeError: number): string {
  return `<tr><td>${esc(figureName)}</td>${numCell(live)}${numCell(simulated)}${numCell(formatSignedPercent(relativeError))}</tr>`;
}

function calibrationSection(report: PlanReport): string {
  const calibration = report.calibration;
  if (calibration === undefined)
    return `<h2>Calibration</h2>\n<section data-testid="calibration" data-state="none"><p>No calibration was run: the simulated latencies and power in this plan have not been checked against a live run.</p></section>`;
  const { live, simulated, relativeError: error } = calibration;
  return `<h2>Calibration</h2>
<section data-testid="calibration" data-state="run"><p>The simulator against a live run of the same small scenario: ${esc(calibration.scenario)}. Difference is (simulated − live) / live.</p>
<table><thead><tr><th>Figure</th><th class="num">Live</th><th class="num">Simulated</th><th class="num">Difference</th></tr></thead><tbody>
${calibrationRow('TTFT p50', formatMs(live.ttftP50Ms), formatMs(simulated.ttftP50Ms), error.ttftP50)}
${calibrationRow('TTFT p99', formatMs(live.ttftP99Ms), formatMs(simulated.ttftP99Ms), error.ttftP99)}
${calibrationRow('Mean power', formatWatts(live.meanPowerWatts), formatWatts(simulated.meanPowerWatts), error.meanPower)}
</tbody></table></section>`;
}

/** The whole plan as one self-contained HTML document. */
export function renderPlanHtml(report: PlanReport): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<main>
${header(report)}
<h2>At a glance</h2>
<ul class="glance" data-testid="glance">${glanceFacts(report)
    .map((fact) => `<li>${esc(fact)}</li>`)
    .join('')}</ul>
<h2>Fleet</h2>
${fleetTable(report)}
<h2>Placement policies compared</h2>
<p>Every policy placed the same ${esc(formatCount(report.workload.requests))} requests on the same fleet.</p>
${policyTable(report)}
<h2>Latency</h2>
<div class="charts">${cdfChart(report, 'ttft')}${cdfChart(report, 'total')}</div>
<h2>Power per cluster</h2>
<div class="charts">${clusterCharts(report, 'power')}</div>
<h2>Utilisation per cluster</h2>
<div class="charts">${clusterCharts(report, 'util')}</div>
<h2>SLO attainment and energy</h2>
<div class="charts">${attainmentChart(report)}${energyChart(report)}</div>
${capacitySection(report)}
${calibrationSection(report)}
</main>
</body>
</html>
`;
}
