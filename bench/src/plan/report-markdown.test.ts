import { describe, expect, it } from 'vitest';
import { examplePlanReport, examplePlanReportWithGaps } from './plan-report.fixture.js';
import type { PlanReport } from './plan-report.js';
import { escapeMarkdown, renderPlanMarkdown } from './report-markdown.js';

/** Cells of a Markdown table row, split on pipes that are not escaped. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** Every table in the document: its header row, then its body rows, as cells. */
function tables(markdown: string): string[][][] {
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (/^\|( -+:? \|)+$/.test(line)) continue;
    if (current === undefined) found.push((current = []));
    current.push(cells(line));
  }
  return found;
}

/** The table whose header starts with `columns`. */
function tableStarting(markdown: string, ...columns: string[]): string[][] {
  const table = tables(markdown).find((t) => columns.every((column, i) => t[0]?.[i] === column));
  if (table === undefined) throw new Error(`no table starting with ${columns.join(' | ')}`);
  return table;
}

describe('renderPlanMarkdown', () => {
  const report = examplePlanReport();
  const markdown = renderPlanMarkdown(report);

  it('has every section, and every table row as wide as its header', () => {
    expect(markdown.startsWith(`# ${report.title}\n`)).toBe(true);
    for (const heading of ['At a glance', 'Fleet', 'Placement policies compared', 'Power and utilisation per cluster'])
      expect(markdown).toContain(`\n## ${heading}\n`);
    expect(markdown).toContain('\n## Capacity\n');
    expect(markdown).toContain('\n## Calibration\n');
    expect(tables(markdown)).toHaveLength(5);
    for (const table of tables(markdown)) for (const row of table) expect(row).toHaveLength(table[0]?.length ?? 0);
    expect(markdown).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('states the same figures as the HTML report', () => {
    const policies = tableStarting(markdown, 'Policy');
    expect(policies.slice(1).map((row) => row[0])).toEqual(report.policies.map((run) => run.summary.policy));
    const switchyard = policies.find((row) => row[0] === 'switchyard');
    expect(switchyard).toEqual([
      'switchyard',
      '12,480',
      '232 ms',
      '430 ms',
      '854 ms',
      '19.4 s',
      '99.3%',
      '99.7%',
      '99.9%',
      '99.5%',
      '8 (0.1%): NO\\_CAPACITY 3, OVERLOADED 5',
      '352 J',
      '42.9 kW',
    ]);
    expect(markdown).toContain('**88 nodes, rated peak 44.9 kW**');
    expect(tableStarting(markdown, '\\#').filter((row) => row.at(-1) === 'yes (answer)')).toHaveLength(1);
    expect(tableStarting(markdown, 'Figure')[2]).toEqual(['TTFT p99', '1.34 s', '1.46 s', '+8.6%']);
    const fra = tableStarting(markdown, 'Cluster', 'Policy').find((row) => row[0] === 'fra' && row[1] === 'switchyard');
    expect(fra?.[5]).toBe('0 of 60');
    expect(markdown).toContain('**3 bad rows skipped**');
  });

  it('escapes names so that a pipe cannot split a cell and markup cannot open a tag', () => {
    const hostile: PlanReport = {
      ...report,
      fleet: {
        ...report.fleet,
        clusters: report.fleet.clusters.map((c) =>
          c.name === 'fra' ? { ...c, name: '<script>alert(1)</script>' } : c,
        ),
      },
      policies: report.policies.map((run) =>
        run.summary.policy === 'random' ? { ...run, summary: { ...run.summary, policy: 'a|b' } } : run,
      ),
    };
    const text = renderPlanMarkdown(hostile);
    expect(text).not.toContain('<script>');
    expect(text).toContain('\\<script\\>alert(1)\\</script\\>');
    expect(text).toContain('| a\\|b |');
    for (const table of tables(text)) for (const row of table) expect(row).toHaveLength(table[0]?.length ?? 0);
    expect(escapeMarkdown('two\nlines_*x*')).toBe('two lines\\_\\*x\\*');
  });

  it('renders a plan with no capacity search, no calibration and a policy that served nothing', () => {
    const gaps = renderPlanMarkdown(examplePlanReportWithGaps());
    expect(gaps).not.toMatch(/NaN|Infinity|undefined/);
    expect(gaps).toContain('No capacity search was run for this plan.');
    expect(gaps).toContain('No calibration was run');
    const refuseAll = tableStarting(gaps, 'Policy').find((row) => row[0] === 'refuse-all');
    expect(refuseAll?.slice(2, 6)).toEqual(['–', '–', '–', '–']);
    expect(refuseAll?.[8]).toBe('–');
    expect(refuseAll?.[11]).toBe('–');
    const randomFra = tableStarting(gaps, 'Cluster', 'Policy').find((row) => row[0] === 'fra' && row[1] === 'random');
    expect(randomFra?.[5]).toMatch(/ of 59$/);
    for (const table of tables(gaps)) for (const row of table) expect(row).toHaveLength(table[0]?.length ?? 0);
  });
});
