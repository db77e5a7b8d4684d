import { describe, expect, it } from 'vitest';
import { MetricCatalogFormatError, parseMetricCatalog, readMetricCatalog } from './catalog.js';

const SMALL_CATALOGUE = `
| process   | flag | paths      |
| --------- | ---- | ---------- |
| scheduler | x    | \`/metrics\` |

## Scheduler

| metric             | type      | labels                 | meaning |
| ------------------ | --------- | ---------------------- | ------- |
| \`a_total\`          | counter   | \`slo_class\`, \`outcome\` | a       |
| \`b_seconds\`        | histogram |                        | b       |
| \`shared_connected\` | gauge     |                        | c       |

## Agent

Every series carries \`node\`, \`cluster\` and \`profile\` (one value each per process).

| metric             | type  | labels | meaning |
| ------------------ | ----- | ------ | ------- |
| \`shared_connected\` | gauge |        | c       |

## Elsewhere

| metric      | type  | labels | meaning |
| ----------- | ----- | ------ | ------- |
| \`not_ours\` | gauge |        | d       |
`;

describe('parseMetricCatalog', () => {
  const catalog = parseMetricCatalog(SMALL_CATALOGUE);

  it('reads the rows of the process sections only, with their labels', () => {
    expect(catalog.entries).toEqual([
      { name: 'a_total', type: 'counter', process: 'scheduler', labels: ['slo_class', 'outcome'] },
      { name: 'b_seconds', type: 'histogram', process: 'scheduler', labels: [] },
      { name: 'shared_connected', type: 'gauge', process: 'scheduler', labels: [] },
      { name: 'shared_connected', type: 'gauge', process: 'agent', labels: ['node', 'cluster', 'profile'] },
    ]);
  });

  it('expands histograms into their series and merges a metric both processes export', () => {
    expect([...catalog.seriesNames].sort()).toEqual([
      'a_total',
      'b_seconds_bucket',
      'b_seconds_count',
      'b_seconds_sum',
      'shared_connected',
    ]);
    expect([...(catalog.labelsOf('b_seconds_bucket') ?? [])]).toEqual(['le']);
    expect(catalog.labelsOf('b_seconds')).toBeUndefined();
    expect([...(catalog.labelsOf('shared_connected') ?? [])].sort()).toEqual(['cluster', 'node', 'profile']);
  });

  it('refuses a table it cannot read instead of returning a partial catalogue', () => {
    expect(() => parseMetricCatalog(SMALL_CATALOGUE.replace('| counter   |', '| countr    |'))).toThrow(
      MetricCatalogFormatError,
    );
    expect(() => parseMetricCatalog('## Scheduler\n\nno tables here\n')).toThrow(/found no metric table/);
  });
});

describe('docs/metrics.md', () => {
  const catalog = readMetricCatalog();

  it('reads both processes, agent series with their per-process labels', () => {
    expect(catalog.entries.filter((e) => e.process === 'scheduler').length).toBeGreaterThanOrEqual(20);
    expect(catalog.entries.filter((e) => e.process === 'agent').length).toBeGreaterThanOrEqual(10);
    expect([...(catalog.labelsOf('switchyard_node_ttft_seconds_bucket') ?? [])].sort()).toEqual([
      'cluster',
      'le',
      'node',
      'profile',
      'slo_class',
    ]);
    expect([...(catalog.labelsOf('switchyard_nodes') ?? [])]).toEqual(['cluster', 'state']);
  });

  it('names every metric by the conventions (prefix, counters end in _total)', () => {
    const wrong = catalog.entries.filter(
      (e) => !e.name.startsWith('switchyard_') || (e.type === 'counter') !== e.name.endsWith('_total'),
    );
    expect(wrong).toEqual([]);
  });
});
