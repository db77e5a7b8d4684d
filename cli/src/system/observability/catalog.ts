import { readFileSync } from 'node:fs';

/** The metric catalogue every exporter, rule and dashboard is written against. */
export const METRICS_DOC = new URL('../../../../docs/metrics.md', import.meta.url);
/** The chart's Prometheus rules and Grafana dashboards, which the observability tests check. */
export const CHART_FILES = new URL('../../../../charts/switchyard/files/', import.meta.url);
export const DASHBOARDS_DIR = new URL('dashboards/', CHART_FILES);
export const RULES_FILE_URL = new URL('prometheus/switchyard.rules.yaml', CHART_FILES);

/** The Prometheus metric types the catalogue uses. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Which process exports a metric: the catalogue's `## Scheduler` and `## Agent` sections. */
export type ExportingProcess = 'scheduler' | 'agent';

/** One row of a catalogue table. */
export interface CatalogEntry {
  readonly name: string;
  readonly type: MetricType;
  readonly process: ExportingProcess;
  /** The row's labels plus those the section puts on every series (the agent's `node`, …). */
  readonly labels: readonly string[];
}

/** The catalogue: every entry, and lookups that merge a metric exported by both processes. */
export interface MetricCatalog {
  readonly entries: readonly CatalogEntry[];
  /** Metric names as the catalogue writes them (a histogram's base name). */
  readonly names: ReadonlySet<string>;
  /** Every series name an exporter may emit: histograms add `_bucket`, `_sum` and `_count`. */
  readonly seriesNames: ReadonlySet<string>;
  /** The labels a series name may carry across the processes that export it (`le` on buckets). */
  labelsOf(seriesName: string): ReadonlySet<string> | undefined;
}

/** The catalogue does not match the shape this parser reads (a changed table header, a new type, …). */
export class MetricCatalogFormatError extends Error {
  readonly code = 'METRIC_CATALOG_FORMAT';
  constructor(message: string) {
    super(`docs/metrics.md: ${message}`);
    this.name = 'MetricCatalogFormatError';
  }
}

const METRIC_TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary']);
const SECTION_PROCESS: Readonly<Record<string, ExportingProcess>> = { scheduler: 'scheduler', agent: 'agent' };
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;
const SUMMARY_SUFFIXES = ['_sum', '_count'] as const;

/** Node.js process metrics that prom-client's default collectors add to both processes. */
export function isStandardProcessMetric(name: string): boolean {
  return name.startsWith('process_') || name.startsWith('nodejs_');
}

/** Backticked words of a markdown cell or line: `` `a`, `b` `` → ['a', 'b']. */
function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '');
}

function cellsOf(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** Reads the metric tables of the catalogue's process sections. */
export function parseMetricCatalog(markdown: string): MetricCatalog {
  const entries: CatalogEntry[] = [];
  let process: ExportingProcess | undefined;
  let sectionLabels: string[] = [];
  let columns: string[] | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^##\s+(.+?)\s*$/.exec(line);
    if (heading !== null) {
      process = SECTION_PROCESS[(heading[1] ?? '').toLowerCase()];
      sectionLabels = [];
      columns = undefined;
      continue;
    }
    if (process === undefined) continue;
    if (/^every series carries/i.test(line.trim())) {
      sectionLabels = backticked(line);
      continue;
    }
    if (!line.trim().startsWith('|')) {
      columns = undefined;
      continue;
    }
    const cells = cellsOf(line);
    if (columns === undefined) {
      columns = cells.map((cell) => cell.toLowerCase());
      for (const required of ['metric', 'type', 'labels']) {
        if (!columns.includes(required)) {
          throw new MetricCatalogFormatError(`a ${process} table lacks a '${required}' column: ${line}`);
        }
      }
      continue;
    }
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue;
    const cell = (column: string): string => cells[columns?.indexOf(column) ?? -1] ?? '';
    const [name] = backticked(cell('metric'));
    const type = cell('type');
    if (name === undefined) throw new MetricCatalogFormatError(`a ${process} row names no metric: ${line}`);
    if (!METRIC_TYPES.has(type)) throw new MetricCatalogFormatError(`${name} has an unknown type '${type}'`);
    entries.push({
      name,
      type: type as MetricType,
      process,
      labels: [...backticked(cell('labels')), ...sectionLabels],
    });
  }
  if (!entries.some((entry) => entry.process === 'scheduler') || !entries.some((e) => e.process === 'agent')) {
    throw new MetricCatalogFormatError('found no metric table under "## Scheduler" and "## Agent"');
  }
  return catalogOf(entries);
}

function catalogOf(entries: readonly CatalogEntry[]): MetricCatalog {
  const labelsBySeries = new Map<string, Set<string>>();
  const addSeries = (seriesName: string, labels: readonly string[]): void => {
    let known = labelsBySeries.get(seriesName);
    if (known === undefined) {
      known = new Set();
      labelsBySeries.set(seriesName, known);
    }
    for (const label of labels) known.add(label);
  };
  for (const entry of entries) {
    if (entry.type === 'histogram') {
      for (const suffix of HISTOGRAM_SUFFIXES) {
        addSeries(entry.name + suffix, suffix === '_bucket' ? [...entry.labels, 'le'] : entry.labels);
      }
    } else if (entry.type === 'summary') {
      addSeries(entry.name, [...entry.labels, 'quantile']);
      for (const suffix of SUMMARY_SUFFIXES) addSeries(entry.name + suffix, entry.labels);
    } else {
      addSeries(entry.name, entry.labels);
    }
  }
  return {
    entries,
    names: new Set(entries.map((entry) => entry.name)),
    seriesNames: new Set(labelsBySeries.keys()),
    labelsOf: (seriesName) => labelsBySeries.get(seriesName),
  };
}

/** Reads and parses docs/metrics.md. */
export function readMetricCatalog(path: URL | string = METRICS_DOC): MetricCatalog {
  return parseMetricCatalog(readFileSync(path, 'utf8'));
}
