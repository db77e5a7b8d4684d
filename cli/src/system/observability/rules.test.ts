/**
 * The chart's Prometheus rules, checked by the real promtool (syntax, lint, and the unit tests in
 * switchyard.rules.test.yaml) and against the metric catalogue in docs/metrics.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStandardProcessMetric, readMetricCatalog } from './catalog.js';
import { selectorsIn } from './promql-names.js';
import { runPromtool } from './promtool.js';

const PROMETHEUS_DIR = new URL('../../../../charts/switchyard/files/prometheus/', import.meta.url);
const RULES_FILE = fileURLToPath(new URL('switchyard.rules.yaml', PROMETHEUS_DIR));
const RULES_TEST_FILE = fileURLToPath(new URL('switchyard.rules.test.yaml', PROMETHEUS_DIR));

/** Alerts operators rely on by name (routing, silences, the runbook). */
const REQUIRED_ALERTS = [
  'SwitchyardClusterOverPowerBudget',
  'SwitchyardSLOBurnRateHigh',
  'SwitchyardNodesDying',
  'SwitchyardNoLeader',
  'SwitchyardAdmissionQueueSaturated',
  'SwitchyardSessionMigrationStorm',
  'SwitchyardNATSDisconnected',
];
const SEVERITIES = new Set(['critical', 'warning', 'info']);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job']);

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}
interface RuleTestFile {
  readonly tests: readonly {
    readonly name: string;
    readonly input_series?: readonly { readonly series: string }[];
    readonly alert_rule_test?: readonly { readonly alertname: string; readonly exp_alerts: readonly unknown[] }[];
  }[];
}

const rules = (parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule) => rule.alert !== undefined);
const recordedNames = new Set(rules.flatMap((rule) => (rule.record === undefined ? [] : [rule.record])));
const catalog = readMetricCatalog();

/** `name: problem` for every selector whose metric or matcher labels the catalogue does not know. */
function catalogueProblems(where: string, expr: string): string[] {
  const problems: string[] = [];
  for (const { name, labels } of selectorsIn(expr)) {
    if (recordedNames.has(name) || isStandardProcessMetric(name)) continue;
    const known = catalog.labelsOf(name);
    if (known === undefined) {
      problems.push(`${where}: ${name} is not in docs/metrics.md`);
      continue;
    }
    for (const label of labels) {
      if (!known.has(label) && !TARGET_LABELS.has(label)) problems.push(`${where}: ${name} has no label '${label}'`);
    }
  }
  return problems;
}

describe('Prometheus rules (promtool)', () => {
  it('pass promtool check rules', async () => {
    const result = await runPromtool(['check', 'rules', RULES_FILE]);
    // promtool's own words are the failure message.
    expect(result.ok ? 'ok' : result.output).toBe('ok');
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const result = await runPromtool(['test', 'rules', RULES_TEST_FILE]);
    // promtool's own words are the failure message.
    expect(result.ok ? 'ok' : result.output).toBe('ok');
    expect(result.output).toContain('SUCCESS');
  });

  describe('the harness fails on bad input', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sy-rules-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reports a rule file with a broken expression and an alert without a name', async () => {
      const broken = join(dir, 'broken.rules.yaml');
      writeFileSync(
        broken,
        [
          'groups:',
          '  - name: broken',
          '    rules:',
          '      - record: switchyard:broken:sum',
          '        expr: sum(rate(switchyard_heartbeats_total[5m])',
          '      - alert: ""',
          '        expr: switchyard_leader == 0',
          '',
        ].join('\n'),
      );
      const result = await runPromtool(['check', 'rules', broken]);
      expect(result.ok).toBe(false);
      expect(result.output).toContain('unclosed left parenthesis');
    });

    it('reports a unit test whose expectation the rules do not meet', async () => {
      const wrong = join(dir, 'wrong.test.yaml');
      writeFileSync(
        wrong,
        [
          `rule_files: [${JSON.stringify(RULES_FILE)}]`,
          'tests:',
          '  - interval: 1m',
          '    input_series:',
          `      - series: 'switchyard_leader{instance="a:9464", job="switchyard-scheduler"}'`,
          "        values: '1x10'",
          '    alert_rule_test:',
          '      - eval_time: 5m',
          '        alertname: SwitchyardNoLeader',
          '        exp_alerts: [{ exp_labels: { severity: critical } }]',
          '',
        ].join('\n'),
      );
      const result = await runPromtool(['test', 'rules', wrong]);
      expect(result.ok).toBe(false);
      expect(result.output).toContain('SwitchyardNoLeader');
    });
  });
});

describe('Prometheus rules (content)', () => {
  it('define every alert operators rely on', () => {
    const names = new Set(alerts.map((rule) => rule.alert));
    expect(REQUIRED_ALERTS.filter((name) => !names.has(name))).toEqual([]);
  });

  it('give every alert a for, a severity, a summary and a description', () => {
    const incomplete = alerts.flatMap((rule) => {
      const missing = [
        rule.for === undefined ? 'for' : '',
        SEVERITIES.has(rule.labels?.['severity'] ?? '') ? '' : 'labels.severity (critical, warning or info)',
        (rule.annotations?.['summary'] ?? '').trim() === '' ? 'annotations.summary' : '',
        (rule.annotations?.['description'] ?? '').trim() === '' ? 'annotations.description' : '',
      ].filter((field) => field !== '');
      return missing.length === 0 ? [] : [`${rule.alert ?? '?'}: ${missing.join(', ')}`];
    });
    expect(alerts.length).toBeGreaterThanOrEqual(REQUIRED_ALERTS.length);
    expect(incomplete).toEqual([]);
  });

  it('name recordings level:metric:operations', () => {
    expect(recordedNames.size).toBeGreaterThanOrEqual(5);
    expect([...recordedNames].filter((name) => !/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/.test(name))).toEqual([]);
  });

  it('use only catalogued metrics and labels in their expressions', () => {
    const problems = rules.flatMap((rule) => catalogueProblems(rule.record ?? rule.alert ?? '?', rule.expr));
    expect(problems).toEqual([]);
  });

  it('are tested with catalogued series only, and each alert both firing and quiet', () => {
    const tests = (parse(readFileSync(RULES_TEST_FILE, 'utf8')) as RuleTestFile).tests;
    const problems = tests.flatMap((test) =>
      (test.input_series ?? []).flatMap((input) => catalogueProblems(test.name, input.series)),
    );
    expect(problems).toEqual([]);
    const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
    const untested = [...new Set(alerts.map((rule) => rule.alert ?? ''))].flatMap((name) => {
      const own = cases.filter((c) => c.alertname === name);
      return [
        own.some((c) => c.exp_alerts.length > 0) ? [] : [`${name} never expected to fire`],
        own.some((c) => c.exp_alerts.length === 0) ? [] : [`${name} never expected to stay quiet`],
      ].flat();
    });
    expect(untested).toEqual([]);
  });
});
