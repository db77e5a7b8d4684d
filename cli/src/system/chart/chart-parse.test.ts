/**
 * The chart's plain YAML files parse strictly (no duplicate keys, no syntax slips that Helm's
 * lenient parser would turn into surprises), and Chart.yaml says what Helm and chart-testing need.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chartFilesUnder,
  chartPath,
  isMap,
  parseYamlDocuments,
  readChartYaml,
  REPO_ROOT,
  type YamlMap,
} from './chart-files.js';

/** Plain YAML files (templates are Go templates, checked in template-hygiene.test.ts). */
const PLAIN_YAML = [
  'Chart.yaml',
  'values.yaml',
  ...chartFilesUnder('examples'),
  ...chartFilesUnder('ci'),
  ...chartFilesUnder('files'),
].filter((path) => /\.ya?ml$/.test(path));

const chart = readChartYaml('Chart.yaml') as YamlMap;

describe('chart YAML files', () => {
  it('include values, an example and chart-testing values', () => {
    expect(PLAIN_YAML).toEqual(
      expect.arrayContaining([
        'Chart.yaml',
        'values.yaml',
        'examples/mixed-trn2-h100.yaml',
        'ci/full-values.yaml',
        'files/prometheus/switchyard.rules.yaml',
      ]),
    );
  });

  it.each(PLAIN_YAML)('%s parses strictly', (path) => {
    const docs = parseYamlDocuments(readFileSync(chartPath(path), 'utf8'), path);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) expect(isMap(doc), `${path}: every document is a mapping`).toBe(true);
  });

  it('the strict parser refuses a duplicate key (what Helm would silently take the last of)', () => {
    expect(() => parseYamlDocuments('scheduler:\n  replicaCount: 2\n  replicaCount: 3\n', 'dup.yaml')).toThrow(
      /dup\.yaml: .*unique/i,
    );
  });

  it.each(chartFilesUnder('files/dashboards'))('%s is JSON with a uid and a title', (path) => {
    const dashboard = JSON.parse(readFileSync(chartPath(path), 'utf8')) as YamlMap;
    expect(typeof dashboard['uid']).toBe('string');
    expect(typeof dashboard['title']).toBe('string');
  });
});

describe('Chart.yaml', () => {
  it('is a Helm 3 application chart', () => {
    expect(chart['apiVersion']).toBe('v2');
    expect(chart['name']).toBe('switchyard');
    expect(chart['type']).toBe('application');
    expect(chart['version']).toBe('0.1.0');
    expect(String(chart['version'])).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it("says the application's version: the repository's", () => {
    const rootPackage = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    expect(chart['appVersion']).toBe(rootPackage.version);
  });

  it('needs Kubernetes 1.25 or newer (policy/v1 PDBs, seccompProfile, pre-release builds included)', () => {
    expect(chart['kubeVersion']).toBe('>=1.25.0-0');
  });

  it('describes itself for a chart repository', () => {
    expect(String(chart['description']).length).toBeGreaterThan(40);
    expect(chart['keywords']).toEqual(expect.arrayContaining(['inference', 'scheduler', 'nats']));
    const maintainers = chart['maintainers'] as YamlMap[];
    expect(maintainers.length).toBeGreaterThan(0);
    for (const maintainer of maintainers) expect(typeof maintainer['name']).toBe('string');
    const sources = chart['sources'] as string[];
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).toMatch(/^https:\/\/\S+$/);
  });

  it('depends on the official NATS chart 1.x, only when nats.enabled', () => {
    expect(chart['dependencies']).toEqual([
      {
        name: 'nats',
        version: '1.x.x',
        // A repository alias: the user adds the official NATS chart repository as `nats`.
        repository: '@nats',
        condition: 'nats.enabled',
      },
    ]);
  });

  it('has no keys Helm does not know', () => {
    const known = new Set([
      'apiVersion',
      'name',
      'version',
      'kubeVersion',
      'description',
      'type',
      'keywords',
      'home',
      'sources',
      'dependencies',
      'maintainers',
      'icon',
      'appVersion',
      'deprecated',
      'annotations',
    ]);
    expect(Object.keys(chart).filter((key) => !known.has(key))).toEqual([]);
  });
});
