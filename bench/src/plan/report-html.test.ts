import { describe, expect, it } from 'vitest';
import { formatJoules, formatMs, formatPercent, formatSignedPercent, formatWatts } from './plan-format.js';
import { examplePlanReport, examplePlanReportWithGaps } from './plan-report.fixture.js';
import type { PlanReport } from './plan-report.js';
import { renderPlanHtml } from './report-html.js';
import { barChart, lineChart } from './svg-charts.js';

const HOSTILE_CLUSTER = '<script>alert(1)</script>';
const PIPE_POLICY = 'a|b';

/** The report with cluster `fra` and policy `random` renamed, everywhere they appear. */
function renamed(report: PlanReport, cluster: string, policy: string): PlanReport {
  const name = (n: string) => (n === 'fra' ? cluster : n);
  return {
    ...report,
    fleet: {
      ...report.fleet,
      clusters: report.fleet.clusters.map((c) => ({ ...c, name: name(c.name) })),
      mix: { ...report.fleet.mix, groups: report.fleet.mix.groups.map((g) => ({ ...g, cluster: name(g.cluster) })) },
    },
    policies: report.policies.map((run) => ({
      ...run,
      summary: { ...run.summary, policy: run.summary.policy === 'random' ? policy : run.summary.policy },
      series: { ...run.series, clusters: run.series.clusters.map((c) => ({ ...c, cluster: name(c.cluster) })) },
    })),
  };
}

/** The markup of the figure (or other element) carrying `testid`, up to its closing tag. */
function element(html: string, testid: string): string {
  const start = html.indexOf(`data-testid="${testid}"`);
  if (start < 0) throw new Error(`no element with data-testid="${testid}"`);
  const open = html.lastIndexOf('<', start);
  const tag = /^<(\w+)/.exec(html.slice(open))?.[1] ?? '';
  return html.slice(open, html.indexOf(`</${tag}>`, start) + tag.length + 3);
}

/** How many shapes in `markup` belong to each series. */
function seriesCounts(markup: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of markup.matchAll(/<(path|rect) data-series="([^"]*)"/g)) {
    const name = match[2] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

describe('renderPlanHtml', () => {
  const report = examplePlanReport();
  const html = renderPlanHtml(report);
  const policies = report.policies.map((run) => run.summary.policy);

  it('is one self-contained document: no script, nothing fetched, no non-finite number', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html.trimEnd()).toMatch(/<\/html>$/);
    expect(html).not.toMatch(/https?:\/\/|<script|<link|@import|\ssrc=|url\(/i);
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('has every chart and key table, with one line per policy and a budget line per power chart', () => {
    for (const chart of ['chart-ttft-cdf', 'chart-total-cdf', 'chart-power-fra', 'chart-power-iad', 'chart-util-fra']) {
      const figure = element(html, chart);
      expect(figure).toMatch(/<svg [^>]*role="img" aria-label="[^"]+"/);
      expect({ chart, series: seriesCounts(figure) }).toEqual({ chart, series: new Map(policies.map((p) => [p, 1])) });
    }
    expect(seriesCounts(element(html, 'chart-util-iad'))).toEqual(new Map(policies.map((p) => [p, 1])));
    for (const cluster of ['fra', 'iad']) {
      expect(element(html, `chart-power-${cluster}`)).toContain('data-reference="budget 25.0 kW"');
      expect(element(html, `chart-util-${cluster}`)).not.toContain('data-reference');
    }
    // Attainment: a bar per policy for each class and for all classes together.
    expect(seriesCounts(element(html, 'chart-attainment'))).toEqual(new Map(policies.map((p) => [p, 4])));
    expect(element(html, 'chart-attainment')).toContain('data-reference="target 99.0%"');
    expect(seriesCounts(element(html, 'chart-energy'))).toEqual(new Map(policies.map((p) => [p, 1])));
    for (const table of ['policy-table', 'capacity-answer', 'calibration', 'fleet-table', 'capacity-trials'])
      expect(html).toContain(`data-testid="${table}"`);
  });

  it('writes the figures a buyer reads, in their units', () => {
    const table = element(html, 'policy-table');
    const switchyard = report.policies.find((run) => run.summary.policy === 'switchyard')?.summary;
    if (switchyard === undefined) throw new Error('no switchyard run in the example');
    expect(table.match(/<tr data-policy=/g)).toHaveLength(policies.length);
    expect(table).toContain(formatMs(switchyard.ttftMs.p99));
    expect(table).toContain(formatPercent(switchyard.overallAttainment));
    expect(table).toContain(formatJoules(switchyard.joulesPer1kTokens));
    expect(table).toContain('NO_CAPACITY 3 · OVERLOADED 5');
    expect(element(html, 'capacity-answer')).toContain('data-found="true"');
    expect(element(html, 'capacity-answer')).toContain('<b>88 nodes</b>, rated peak <b>44.9 kW</b>');
    expect(element(html, 'capacity-trials').match(/class="answer-row"/g)).toHaveLength(1);
    expect(element(html, 'calibration')).toMatch(/TTFT p99<\/td>.*<td class="num">\+8\.6%<\/td>/);
    expect(html).toContain('3 bad rows skipped');
  });

  it('escapes names from user files in text, attributes and test ids', () => {
    const hostile = renderPlanHtml(renamed({ ...report, title: 'Plan & "quotes"' }, HOSTILE_CLUSTER, PIPE_POLICY));
    expect(hostile).not.toContain('<script');
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(hostile).toContain('<title>Plan &amp; &quot;quotes&quot;</title>');
    const power = element(hostile, 'chart-power-&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(seriesCounts(power).get(PIPE_POLICY)).toBe(1);
    expect(hostile).not.toMatch(/NaN|Infinity/);
  });

  it('renders a plan with no capacity search, no calibration and a policy that served nothing', () => {
    const gaps = examplePlanReportWithGaps();
    const gapsHtml = renderPlanHtml(gaps);
    const all = gaps.policies.map((run) => run.summary.policy);
    expect(gapsHtml).not.toMatch(/NaN|Infinity/);
    expect(gapsHtml).toContain('No capacity search was run for this plan.');
    expect(gapsHtml).not.toContain('data-testid="capacity-answer"');
    expect(element(gapsHtml, 'calibration')).toContain('data-state="none"');
    // The policy that served nothing keeps its (empty) line, named "no data" in the legend.
    expect(seriesCounts(element(gapsHtml, 'chart-ttft-cdf'))).toEqual(new Map(all.map((p) => [p, 1])));
    expect(element(gapsHtml, 'chart-ttft-cdf')).toContain('<path data-series="refuse-all" d=""');
    expect(element(gapsHtml, 'chart-ttft-cdf')).toContain('refuse-all (no data)');
    // A bucket without a figure breaks the line: two runs, so two moves.
    const randomFra = /<path data-series="random" d="([^"]*)"/.exec(element(gapsHtml, 'chart-power-fra'))?.[1] ?? '';
    expect(randomFra.match(/M/g)).toHaveLength(2);
    // No batch requests: no batch bars, and a note instead; all-zero attainment still gets its bars.
    const attainment = element(gapsHtml, 'chart-attainment');
    expect(seriesCounts(attainment).get('switchyard')).toBe(3);
    expect(seriesCounts(attainment).get('refuse-all')).toBe(3);
    expect(attainment).toContain('no requests of this class');
    expect(seriesCounts(element(gapsHtml, 'chart-energy')).has('refuse-all')).toBe(false);
    expect(element(gapsHtml, 'chart-energy')).toContain('served nothing');
    expect(element(gapsHtml, 'policy-table')).toMatch(
      /refuse-all<\/td><td class="num">[^<]*<\/td><td class="num">–<\/td>/,
    );
  });

  it('says why when no fleet met the target', () => {
    const capacity = report.capacity;
    if (capacity === undefined) throw new Error('the example has a capacity search');
    const none = renderPlanHtml({
      ...report,
      capacity: { ...capacity, smallest: undefined, reason: 'the largest fleet tried met 97.0% in interactive' },
    });
    expect(element(none, 'capacity-answer')).toContain('data-found="false"');
    expect(element(none, 'capacity-answer')).toContain('the largest fleet tried met 97.0% in interactive');
    expect(none.includes('class="answer-row"')).toBe(false);
  });
});

describe('svg charts', () => {
  const axis = { label: 'x', format: (v: number) => String(v) };

  it('breaks a line at NaN, draws a lone point as a dot, and skips non-positive x on a log axis', () => {
    const svg = lineChart({
      title: 'gaps',
      x: { ...axis, scale: 'log' },
      y: axis,
      series: [
        {
          name: 's',
          colour: '#000',
          points: [
            { x: 1, y: 1 },
            { x: 2, y: 2 },
            { x: 3, y: Number.NaN },
            { x: 4, y: 4 },
            { x: 0, y: 5 },
            { x: 6, y: 6 },
            { x: 7, y: 7 },
          ],
        },
      ],
    });
    const d = /data-series="s" d="([^"]*)"/.exec(svg)?.[1] ?? '';
    expect(d.match(/M/g)).toHaveLength(3);
    expect(d.match(/h0/g)).toHaveLength(1);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('gives all-zero, empty and single-point data a finite axis', () => {
    for (const points of [[], [{ x: 0, y: 0 }], [{ x: 5, y: 3 }], Array.from({ length: 5 }, (_, x) => ({ x, y: 0 }))]) {
      const svg = lineChart({ title: 't', x: axis, y: axis, series: [{ name: 's', colour: '#000', points }] });
      expect(svg).not.toMatch(/NaN|Infinity/);
      expect(svg).toContain('data-series="s"');
    }
    const bars = barChart({
      title: 'zeros',
      groups: [
        {
          label: '',
          bars: [
            { series: 'z', colour: '#000', value: 0 },
            { series: 'n', colour: '#000', value: Number.NaN },
          ],
        },
      ],
      value: axis,
    });
    expect(bars).not.toMatch(/NaN|Infinity/);
    expect(bars).toContain('<rect data-series="z" x="');
    expect(bars).not.toContain('<rect data-series="n"');
  });

  it('escapes quotes and markup in series names and labels', () => {
    const svg = lineChart({
      title: 'a "b" <c>',
      x: { ...axis, label: '<x>' },
      y: axis,
      series: [{ name: `"'><g onload=x>`, colour: '#000', points: [{ x: 1, y: 1 }] }],
      references: [{ axis: 'y', value: 1, label: '<budget>' }],
    });
    expect(svg).not.toMatch(/<g onload|<c>|<x>|<budget>/);
    expect(svg).toContain('data-series="&quot;&#39;&gt;&lt;g onload=x&gt;"');
  });
});

describe('plan number formats', () => {
  it.each([
    [4.24, '4.2 ms'],
    [412.4, '412 ms'],
    [999.6, '1.00 s'],
    [1_236, '1.24 s'],
    [12_345, '12.3 s'],
    [59_990, '1.0 min'],
    [3_541_200, '59 min'],
    [Number.NaN, '–'],
  ])('formatMs(%d) is %s', (ms, text) => expect(formatMs(ms)).toBe(text));

  it('never rounds a share short of all to 100.0% or a share above none to 0.0%', () => {
    expect(formatPercent(0.99951)).toBe('>99.9%');
    expect(formatPercent(1)).toBe('100.0%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(undefined)).toBe('–');
  });

  it('writes watts as kW from 10,000 and signs relative errors', () => {
    expect(formatWatts(9_999)).toBe('9,999 W');
    expect(formatWatts(10_000)).toBe('10.0 kW');
    expect(formatWatts(25_000)).toBe('25.0 kW');
    expect(formatWatts(12_340_000)).toBe('12.3 MW');
    expect(formatSignedPercent(0.0858)).toBe('+8.6%');
    expect(formatSignedPercent(-0.066)).toBe('−6.6%');
    expect(formatSignedPercent(0.00001)).toBe('±0.0%');
  });
});
