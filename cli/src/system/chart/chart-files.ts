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

/**
 * The values Helm would render with values files of the chart, given in order as `-f` files (e.g.
 * `ci/full-values.yaml`, or a fleet example then an overlay).
 */
export function valuesWith(...paths: readonly string[]): YamlMap {
  return paths.reduce((values, path) => {
    const overrides = readChartYaml(path);
    if (!isMap(overrides)) throw new Error(`${path} is not a mapping`);
    return coalesceValues(values, overrides);
  }, defaultValues());
}

/**
 * Examples that add one feature over a fleet example instead of describing a fleet, each with the
 * fleet example its header installs it over (`-f <fleet> -f <overlay>`).
 */
export const EXAMPLE_OVERLAYS: Readonly<Record<string, string>> = {
  'examples/authorization.yaml': 'examples/mixed-trn2-h100.yaml',
};

/**
 * The values files of ci/ and examples/ as they are installed, each as its `-f` files in order:
 * chart-testing takes every ci/ file alone, an overlay goes over its fleet example.
 */
export function valuesStacks(): string[][] {
  return [...chartFilesUnder('ci'), ...chartFilesUnder('examples')].map((path) => {
    const fleet = EXAMPLE_OVERLAYS[path];
    return fleet === undefined ? [path] : [fleet, path];
  });
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

/** One `{{ … }}` action of a template. */
export interface TemplateAction {
  /** The text inside the delimiters, trim markers and surrounding spaces removed. */
  readonly body: string;
  /** Where the action starts (its `{{`). */
  readonly offset: number;
  /** Just after its `}}`. */
  readonly end: number;
}

/** Every `{{ … }}` action of a template, with the text inside the delimiters (trim markers removed). */
export function templateActions(text: string): TemplateAction[] {
  const actions: TemplateAction[] = [];
  for (const match of text.matchAll(/\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g)) {
    actions.push({ body: match[2]!.trim(), offset: match.index, end: match.index + match[0].length });
  }
  return actions;
}

/** Keywords that open a block closed by `end`. */
const BLOCK_OPENERS = new Set(['if', 'range', 'with', 'define', 'block']);

function keywordOf(action: TemplateAction): string {
  return /^([a-z]+)\b/.exec(action.body)?.[1] ?? '';
}

/**
 * What a block of a template holds: the text between the action whose body is `opener` (e.g.
 * `if .Values.natsAuth.enabled`) and its `end`, or its first `else` at the same depth.
 */
export function blockText(text: string, opener: string): string {
  const actions = templateActions(text);
  const start = actions.findIndex((a) => a.body === opener);
  if (start < 0) throw new Error(`no {{ ${opener} }} in the template`);
  let depth = 0;
  for (const action of actions.slice(start + 1)) {
    const keyword = keywordOf(action);
    if (BLOCK_OPENERS.has(keyword)) depth += 1;
    else if (depth === 0 && (keyword === 'else' || keyword === 'end')) {
      return text.slice(actions[start]!.end, action.offset);
    } else if (keyword === 'end') depth -= 1;
  }
  throw new Error(`{{ ${opener} }} is never closed`);
}

/** The body of a helper: the text of its `define` block in templates/_helpers.tpl. */
export function helperBody(name: string): string {
  const helpers = chartTemplates().find((t) => t.path === 'templates/_helpers.tpl');
  if (helpers === undefined) throw new Error('no templates/_helpers.tpl');
  return blockText(helpers.text, `define "${name}"`);
}

/** An action body pattern and the text such an action renders as. */
export type Substitution = readonly [RegExp, string];

/**
 * A piece of template without control flow, as it renders: every action is replaced by what the
 * first matching substitution gives, lines holding only a variable assignment (`$x := …`) render
 * nothing, and any other action is an error, so the piece cannot grow logic the caller did not
 * account for.
 */
export function renderActions(piece: string, substitutions: readonly Substitution[]): string {
  const lines = piece.split('\n').filter((line) => !/^\s*\{\{-?\s*\$[A-Za-z]\w*\s*:=[\s\S]*\}\}\s*$/.test(line));
  return lines
    .join('\n')
    .replace(/\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g, (_action, open?: string, body = '', close?: string) => {
      // Trim markers would eat the text around the value: no value is written with them.
      if (open !== undefined || close !== undefined) throw new Error(`{{ ${body.trim()} }} trims whitespace`);
      const substitution = substitutions.find(([pattern]) => pattern.test(body.trim()));
      if (substitution === undefined) throw new Error(`no substitution for {{ ${body.trim()} }}`);
      return substitution[1];
    });
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
