/**
 * The Helm chart in charts/switchyard read without the helm binary: its files, strict YAML, values
 * as Helm merges them, the schema as a validator, and what the Go templates refer to.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CHART_DIR = join(REPO_ROOT, 'charts/switchyard');

/** A YAML mapping as parsed. */
export type YamlMap = Record<string, unknown>;

/** Whether a parsed YAML value is a mapping (not a list, not a scalar). */
export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A file of the chart by its path inside the chart. */
export function chartPath(path: string): string {
  return join(CHART_DIR, path);
}

/** Every file under `dir` (recursively), as paths relative to the chart. */
export function chartFilesUnder(dir: string): string[] {
  const root = chartPath(dir);
  if (!existsSync(root)) return [];
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const full = join(folder, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(relative(CHART_DIR, full));
    }
  };
  walk(root);
  return files;
}

/**
 * Every document of a YAML text, parsed strictly: a syntax error, a duplicate key or a warning is an
 * error that names the file and the line.
 */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true }).map((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** A one-document YAML file of the chart, parsed strictly. */
export function readChartYaml(path: string): unknown {
  const docs = parseYamlDocuments(readFileSync(chartPath(path), 'utf8'), path);
  if (docs.length !== 1) throw new Error(`${path}: expected one YAML document, found ${docs.length}`);
  return docs[0];
}

/** The chart's default values (values.yaml). */
export function defaultValues(): YamlMap {
  const values = readChartYaml('values.yaml');
  if (!isMap(values)) throw new Error('values.yaml is not a mapping');
  return values;
}

/**
 * Helm's merge of a values file over the defaults: mappings merge key by key, anything else (lists
 * included) replaces the default, and null deletes the key.
 */
export function coalesceValues(defaults: YamlMap, overrides: YamlMap): YamlMap {
  const merged: YamlMap = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) {
    const base = merged[key];
    if (value === null) delete merged[key];
    else if (isMap(value) && isMap(base)) merged[key] = coalesceValues(base, value);
    else merged[key] = structuredClone(value);
  }
  return merged;
}

/** The values Helm would render with a values file of the chart (e.g. `ci/full-values.yaml`). */
export function valuesWith(path: string): YamlMap {
  const overrides = readChartYaml(path);
  if (!isMap(overrides)) throw new Error(`${path} is not a mapping`);
  return coalesceValues(defaultValues(), overrides);
}

/** values.schema.json, parsed. */
export function valuesSchema(): YamlMap {
  return JSON.parse(readFileSync(chartPath('values.schema.json'), 'utf8')) as YamlMap;
}

/** Validates values against values.schema.json (draft-07, as Helm 3 does); returns every error. */
export function createValuesValidator(): (values: unknown) => ErrorObject[] {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  const validate = ajv.compile(valuesSchema());
  return (values) => (validate(values) ? [] : [...(validate.errors ?? [])]);
}

/** One template of the chart: its path inside the chart and its text. */
export interface ChartTemplate {
  readonly path: string;
  readonly text: string;
}

/** Every file under templates/ (manifests, helpers, NOTES.txt, tests). */
export function chartTemplates(): ChartTemplate[] {
  return chartFilesUnder('templates').map((path) => ({ path, text: readFileSync(chartPath(path), 'utf8') }));
}

/** The templates that render manifests: not the `_` helpers, not NOTES.txt. */
export function manifestTemplates(): ChartTemplate[] {
  return chartTemplates().filter((t) => !t.path.split('/').pop()!.startsWith('_') && !t.path.endsWith('NOTES.txt'));
}

/** Every `{{ … }}` action of a template, with the text inside the delimiters (trim markers removed). */
export function templateActions(text: string): { readonly body: string; readonly offset: number }[] {
  const actions: { body: string; offset: number }[] = [];
  for (const match of text.matchAll(/\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g)) {
    actions.push({ body: match[2]!.trim(), offset: match.index });
  }
  return actions;
}

/** The `.Values.a.b` paths a template text refers to (also through `$.Values` and `.context.Values`). */
export function valuesPathsIn(text: string): string[] {
  return [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1]!.slice(1));
}

/**
 * Paths of the leaves of a values tree: scalars, lists and empty mappings (`podAnnotations: {}` is
 * a value of its own).
 */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (!isMap(value) || Object.keys(value).length === 0) return prefix === '' ? [] : [prefix];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix === '' ? key : `${prefix}.${key}`));
}

/** The value at a dotted path, or undefined. */
export function valueAt(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split('.')) {
    if (!isMap(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** The schema that describes a dotted path (following `$ref`s into definitions), or undefined. */
export function schemaAt(schema: YamlMap, path: string): YamlMap | undefined {
  let node: YamlMap | undefined = resolveRef(schema, schema);
  for (const key of path.split('.')) {
    const properties = node?.['properties'];
    if (!isMap(properties) || !isMap(properties[key])) return undefined;
    node = resolveRef(schema, properties[key]);
  }
  return node;
}

/** A schema node with its `$ref` (to `#/definitions/…`) followed. */
export function resolveRef(root: YamlMap, node: YamlMap): YamlMap {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  const target = valueAt(root, ref.replace(/^#\//, '').replaceAll('/', '.'));
  if (!isMap(target)) throw new Error(`unresolved $ref ${ref}`);
  return resolveRef(root, target);
}
