/**
 * Values and templates agree: every `.Values` path a template reads exists in values.yaml and in
 * the schema, every value in values.yaml is read by a template (or by the NATS subchart), every pool
 * field the schema allows is read by the agent template, the ci/ files set every value for
 * chart-testing, and README.md documents every value with its real default.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chartFilesUnder,
  chartPath,
  chartTemplates,
  defaultValues,
  isMap,
  leafPaths,
  readChartYaml,
  resolveRef,
  schemaAt,
  valueAt,
  valuesPathsIn,
  valuesSchema,
  type YamlMap,
} from './chart-files.js';

const templates = chartTemplates();
const values = defaultValues();
const schema = valuesSchema();
/** Every `.Values` path read anywhere in templates/, with the files that read it. */
const readPaths = new Map<string, string[]>();
for (const template of templates) {
  for (const path of valuesPathsIn(template.text)) readPaths.set(path, [...(readPaths.get(path) ?? []), template.path]);
}
/** The subchart that consumes `nats.*` (the chart reads only the keys it needs for the Service name). */
const SUBCHART = 'nats';

function hasPath(tree: unknown, path: string): boolean {
  let node = tree;
  for (const key of path.split('.')) {
    if (!isMap(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

describe('templates read only values that exist', () => {
  it('read a good number of values', () => {
    expect(readPaths.size).toBeGreaterThan(60);
  });

  it.each([...readPaths.keys()].sort())('.Values.%s is in values.yaml and in the schema', (path) => {
    expect(hasPath(values, path), `in values.yaml (read by ${readPaths.get(path)!.join(', ')})`).toBe(true);
    expect(schemaAt(schema, path), 'described by values.schema.json').toBeDefined();
  });
});

describe('values.yaml holds no dead values', () => {
  const leaves = leafPaths(values);

  it.each(leaves)('%s is read by a template or by the NATS subchart', (leaf) => {
    const readers = [...readPaths.keys()].filter((path) => leaf === path || leaf.startsWith(`${path}.`));
    if (readers.length > 0) return;
    const dependencies = (readChartYaml('Chart.yaml') as YamlMap)['dependencies'] as YamlMap[];
    expect(leaf.startsWith(`${SUBCHART}.`), `${leaf} is read by no template`).toBe(true);
    expect(dependencies.map((d) => d['name'])).toContain(SUBCHART);
  });
});

describe('agent pools', () => {
  const agentTemplate = templates.find((t) => t.path === 'templates/agent-daemonsets.yaml')!.text;
  const poolSchema = resolveRef(schema, schemaAt(schema, 'agents.pools')!['items'] as YamlMap);
  const poolFields = Object.keys(poolSchema['properties'] as YamlMap).sort();
  /** Pool fields the template reads: `$pool.field`, or `hasKey $pool "field"` where absence means a default. */
  const readFields = new Set([
    ...[...agentTemplate.matchAll(/\$pool\.([A-Za-z]+)/g)].map((m) => m[1]!),
    ...[...agentTemplate.matchAll(/hasKey \$pool "([A-Za-z]+)"/g)].map((m) => m[1]!),
  ]);

  it('every field the schema allows is read by the DaemonSet template, and no other', () => {
    expect([...readFields].sort()).toEqual(poolFields);
  });

  it('every model server field is read', () => {
    const modelServer = resolveRef(schema, (poolSchema['properties'] as YamlMap)['modelServer'] as YamlMap);
    const read = new Set([...agentTemplate.matchAll(/\$modelServer\.([A-Za-z]+)/g)].map((m) => m[1]!));
    expect([...read].sort()).toEqual(Object.keys(modelServer['properties'] as YamlMap).sort());
  });
});

describe('chart-testing sets every value', () => {
  const ciValues = chartFilesUnder('ci').map((path) => ({ path, values: readChartYaml(path) }));

  it.each(leafPaths(values))('%s is set by a ci/ file', (leaf) => {
    const setters = ciValues.filter((file) => valueAt(file.values, leaf) !== undefined).map((file) => file.path);
    expect(setters.length, `no file of ci/ sets ${leaf}`).toBeGreaterThan(0);
  });

  it('every pool field is set by a pool of a ci/ file', () => {
    const poolSchema = resolveRef(schema, schemaAt(schema, 'agents.pools')!['items'] as YamlMap);
    const set = new Set(
      ciValues.flatMap((file) => ((valueAt(file.values, 'agents.pools') ?? []) as YamlMap[]).flatMap(Object.keys)),
    );
    expect(Object.keys(poolSchema['properties'] as YamlMap).filter((field) => !set.has(field))).toEqual([]);
  });
});

describe('README.md documents every value', () => {
  const readme = readFileSync(chartPath('README.md'), 'utf8');
  /** Table rows `| \`key\` | type | default | description |` (cells split on unescaped pipes). */
  const rows = new Map<string, { defaultCell: string; description: string }>();
  for (const line of readme.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const key = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (line.startsWith('|') && key !== undefined && cells.length === 6) {
      rows.set(key, { defaultCell: cells[3]!, description: cells[4]! });
    }
  }

  it.each(leafPaths(values))('%s has a row with its default', (leaf) => {
    const row = rows.get(leaf);
    expect(row, `README.md has no row for ${leaf}`).toBeDefined();
    const cell = /^`(.*)`$/.exec(row!.defaultCell);
    expect(cell, `default of ${leaf} is written as \`json\``).not.toBeNull();
    expect(JSON.parse(cell![1]!), `default of ${leaf}`).toEqual(valueAt(values, leaf));
    expect(row!.description.length).toBeGreaterThan(10);
  });

  it('has a row for every pool field (or for each of its fields), and no row for a value that does not exist', () => {
    const poolSchema = resolveRef(schema, schemaAt(schema, 'agents.pools')!['items'] as YamlMap);
    const known = new Set(leafPaths(values));
    for (const [field, fieldSchema] of Object.entries(poolSchema['properties'] as YamlMap)) {
      const row = `agents.pools[].${field}`;
      const nested = resolveRef(schema, fieldSchema as YamlMap)['properties'];
      const subRows = isMap(nested) ? Object.keys(nested).map((sub) => `${row}.${sub}`) : [];
      for (const key of [row, ...subRows]) known.add(key);
      const documented = rows.has(row) || (subRows.length > 0 && subRows.every((sub) => rows.has(sub)));
      expect(documented, `README.md has no row for ${row}`).toBe(true);
    }
    expect([...rows.keys()].filter((key) => !known.has(key))).toEqual([]);
  });
});
