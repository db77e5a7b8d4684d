/**
 * The chart's Grafana dashboards: structure, variables, and every query checked by the real
 * promtool (each becomes a recording rule of a throwaway rule file) and against the metric catalogue.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DASHBOARDS_DIR, isStandardProcessMetric, readMetricCatalog, RULES_FILE_URL } from './catalog.js';
import {
  allPanels,
  DashboardQueryError,
  type PanelQuery,
  panelQueries,
  parseTemplateQuery,
  substituteGrafanaVariables,
  templateVariables,
  variablesIn,
} from './dashboard-queries.js';
import { selectorsIn } from './promql-names.js';
import { type PromtoolResult, runPromtool } from './promtool.js';

const DASHBOARDS = DASHBOARDS_DIR;
const RULES_FILE = RULES_FILE_URL;
const EXPECTED_FILES = [
  'switchyard-fleet-overview.json',
  'switchyard-power-by-cluster.json',
  'switchyard-scheduler-internals.json',
  'switchyard-sessions-and-migrations.json',
  'switchyard-slos-and-latency.json',
];
const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'table', 'row']);
const PROMETHEUS_DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const BUILT_IN_VARIABLES = new Set([
  '__rate_interval',
  '__interval',
  '__interval_ms',
  '__range',
  '__range_s',
  '__range_ms',
]);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job']);

type Json = Record<string, unknown>;
const dashboards = readdirSync(DASHBOARDS)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({ file, json: JSON.parse(readFileSync(new URL(file, DASHBOARDS), 'utf8')) as Json }));
const catalog = readMetricCatalog();
const recordedNames = new Set(
  (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) =>
    g.rules.flatMap((rule) => (rule.record === undefined ? [] : [rule.record])),
  ),
);

/** Every PromQL expression of every dashboard: panel targets and query_result() variables. */
function allQueries(): (PanelQuery & { readonly file: string })[] {
  return dashboards.flatMap(({ file, json }) => [
    ...panelQueries(json).map((query) => ({ ...query, file })),
    ...templateVariables(json).flatMap((variable) => {
      if (variable.type !== 'query') return [];
      const query = parseTemplateQuery(variable.query);
      return query.kind === 'query_result' ? [{ file, where: `$${variable.name}`, expr: query.expr }] : [];
    }),
  ]);
}

let ruleFilesWritten = 0;

/** Runs `promtool check rules` on a rule file holding each expression as a recording rule. */
async function checkWithPromtool(dir: string, queries: readonly PanelQuery[]): Promise<PromtoolResult> {
  const rules = queries.map((query, i) => ({
    record: `check:expr_${i}`,
    expr: substituteGrafanaVariables(query.expr),
  }));
  const path = join(dir, `dashboards-${++ruleFilesWritten}.rules.yaml`);
  writeFileSync(path, stringify({ groups: [{ name: 'dashboard-expressions', rules }] }));
  const result = await runPromtool(['check', 'rules', path]);
  // promtool names a failing rule check:expr_N; say which panel that is.
  const legend = queries.map((query, i) => `check:expr_${i} = ${query.where}: ${query.expr}`).join('\n');
  return { ok: result.ok, output: `${result.output}\n${legend}` };
}

describe('Grafana dashboards (structure)', () => {
  it('are the five expected files, with unique uids and titles', () => {
    expect(dashboards.map((d) => d.file)).toEqual(EXPECTED_FILES);
    const uids = dashboards.map((d) => d.json['uid']);
    const titles = dashboards.map((d) => d.json['title']);
    expect(new Set(uids).size).toBe(dashboards.length);
    expect(new Set(titles).size).toBe(dashboards.length);
  });

  it.each(EXPECTED_FILES)('%s has a uid, title, tags, schema version and a Prometheus data source variable', (file) => {
    const json = dashboards.find((d) => d.file === file)?.json ?? {};
    expect(json['uid']).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(json['uid']).toBe(file.replace(/\.json$/, ''));
    expect(json['title']).toMatch(/^Switchyard \/ /);
    expect(json['tags']).toContain('switchyard');
    expect(json['schemaVersion']).toBeGreaterThanOrEqual(36);
    const variables = templateVariables(json);
    expect(variables[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
  });

  it('give every panel a unique id, a known type, a title, a place on the grid and the data source variable', () => {
    const problems: string[] = [];
    for (const { file, json } of dashboards) {
      const ids = new Set<unknown>();
      for (const { path, panel } of allPanels(json)) {
        const at = `${file}: ${path}`;
        if (ids.has(panel['id'])) problems.push(`${at}: duplicate id ${String(panel['id'])}`);
        ids.add(panel['id']);
        if (!PANEL_TYPES.has(String(panel['type']))) problems.push(`${at}: type ${String(panel['type'])}`);
        if (typeof panel['title'] !== 'string' || panel['title'] === '') problems.push(`${at}: no title`);
        const grid = panel['gridPos'] as { x?: number; y?: number; w?: number; h?: number } | undefined;
        const fits = grid !== undefined && [grid.x, grid.y, grid.w, grid.h].every((n) => Number.isInteger(n));
        if (!fits || (grid.x ?? 0) + (grid.w ?? 0) > 24) problems.push(`${at}: gridPos ${JSON.stringify(grid)}`);
        if (panel['type'] === 'row') continue;
        const targets = (panel['targets'] ?? []) as Json[];
        if (targets.length === 0) problems.push(`${at}: no targets`);
        if (new Set(targets.map((t) => t['refId'])).size !== targets.length) problems.push(`${at}: repeated refIds`);
        if (targets.some((t) => typeof t['expr'] !== 'string' || t['expr'] === '')) problems.push(`${at}: empty expr`);
        for (const source of [panel['datasource'], ...targets.map((t) => t['datasource'] ?? PROMETHEUS_DATASOURCE)]) {
          if (JSON.stringify(source) !== JSON.stringify(PROMETHEUS_DATASOURCE)) {
            problems.push(`${at}: data source ${JSON.stringify(source)}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('define every variable they use, and match multi-value variables with =~ or !~ only', () => {
    const problems: string[] = [];
    for (const { file, json } of dashboards) {
      const variables = templateVariables(json);
      const defined = new Set(variables.map((v) => v.name));
      const manyValued = new Set(variables.filter((v) => v.manyValues).map((v) => v.name));
      for (const { where, expr } of panelQueries(json)) {
        for (const name of variablesIn(expr)) {
          if (!defined.has(name) && !BUILT_IN_VARIABLES.has(name)) problems.push(`${file}: ${where}: $${name}`);
        }
        // "All" and multiple values arrive as a regex, which = would compare literally.
        for (const [, name] of expr.matchAll(/(?:[^=!~]=|!=)\s*"[^"]*\$\{?(\w+)/g)) {
          if (manyValued.has(name ?? '')) problems.push(`${file}: ${where}: $${name ?? ''} is matched with =`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('Grafana dashboards (queries)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-dashboards-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hold valid PromQL in every query, as promtool parses it', async () => {
    const queries = allQueries();
    expect(queries.length).toBeGreaterThanOrEqual(40);
    const result = await checkWithPromtool(dir, queries);
    // promtool's own words are the failure message.
    expect(result.ok ? 'ok' : result.output).toBe('ok');
    expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  it('fail the check on a query promtool cannot parse, naming its panel', async () => {
    const result = await checkWithPromtool(dir, [
      { where: 'Good panel [A]', expr: `sum(rate(switchyard_heartbeats_total[$__rate_interval]))` },
      { where: 'Broken panel [B]', expr: `sum by (cluster) (switchyard_nodes{cluster=~"$cluster"}` },
    ]);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/check:expr_1.*parse error/);
    expect(result.output).toContain('check:expr_1 = Broken panel [B]');
  });

  it('use only catalogued metrics, their labels and the rule file recordings', () => {
    const problems = allQueries().flatMap(({ file, where, expr }) =>
      selectorsIn(expr).flatMap(({ name, labels }) => {
        if (recordedNames.has(name) || isStandardProcessMetric(name)) return [];
        const known = catalog.labelsOf(name);
        if (known === undefined) return [`${file}: ${where}: ${name} is neither catalogued nor recorded`];
        return labels
          .filter((label) => !known.has(label) && !TARGET_LABELS.has(label))
          .map((label) => `${file}: ${where}: ${name} has no label '${label}'`);
      }),
    );
    expect(problems).toEqual([]);
  });

  it('fill their variables with label_values() of catalogued metrics and labels', () => {
    const problems: string[] = [];
    for (const { file, json } of dashboards) {
      for (const variable of templateVariables(json).filter((v) => v.type === 'query')) {
        const query = parseTemplateQuery(variable.query);
        if (query.kind !== 'label_values') continue;
        const names = query.selector === undefined ? [] : selectorsIn(query.selector).map((s) => s.name);
        if (names.length !== 1) problems.push(`${file}: $${variable.name}: name one metric in label_values()`);
        for (const name of names) {
          if (catalog.labelsOf(name)?.has(query.label) !== true) {
            problems.push(`${file}: $${variable.name}: ${name} has no label '${query.label}' in docs/metrics.md`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('Grafana variable substitution', () => {
  it.each([
    ['rate windows', 'rate(x[$__rate_interval]) + rate(x[${__interval}])', 'rate(x[5m]) + rate(x[1m])'],
    ['range windows and their numeric forms', 'increase(x[$__range]) / $__range_s', 'increase(x[1h]) / 3600'],
    [
      'matcher values in every syntax',
      'x{a=~"$cluster", b=~"${slo_class:regex}", c="[[node]]"}',
      'x{a=~".*", b=~".*", c=".*"}',
    ],
    ['variables inside a longer value', 'x{a=~"eu-$cluster|us"}', 'x{a=~"eu-.*|us"}'],
    ['strings with escaped quotes', 'x{a="q\\"$v"}', 'x{a="q\\".*"}'],
  ])('replaces %s', (_case, expr, expected) => {
    expect(substituteGrafanaVariables(expr)).toBe(expected);
  });

  it('refuses a variable outside a string, which no placeholder keeps valid', () => {
    expect(() => substituteGrafanaVariables('topk($limit, x)')).toThrow(DashboardQueryError);
  });

  it('reads label_values() and query_result() variable queries and refuses others', () => {
    expect(parseTemplateQuery('label_values(switchyard_nodes{state="ready"}, cluster)')).toEqual({
      kind: 'label_values',
      selector: 'switchyard_nodes{state="ready"}',
      label: 'cluster',
    });
    expect(parseTemplateQuery('label_values(cluster)')).toEqual({
      kind: 'label_values',
      selector: undefined,
      label: 'cluster',
    });
    expect(parseTemplateQuery('query_result(topk(3, x))')).toEqual({ kind: 'query_result', expr: 'topk(3, x)' });
    expect(() => parseTemplateQuery('metrics(switchyard_.*)')).toThrow(DashboardQueryError);
  });
});
