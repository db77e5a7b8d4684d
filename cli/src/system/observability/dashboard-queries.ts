/**
 * The queries of a Grafana dashboard (panel targets, nested rows, template variables) and the
 * substitution of Grafana's variables that turns each into PromQL promtool can parse.
 */

/** One query of a panel, named by where it sits in the dashboard. */
export interface PanelQuery {
  /** `Row › Panel title [refId]`, for failure messages. */
  readonly where: string;
  readonly expr: string;
}

/** A templating variable, reduced to what the checks need. */
export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  /** The variable's query text (`label_values(…)`, a data source type, …), '' when it has none. */
  readonly query: string;
  /** Whether the variable can stand for several values at once (multi-value, or with an "All" option). */
  readonly manyValues: boolean;
}

/** What a Prometheus query variable asks the data source for. */
export type TemplateQuery =
  | { readonly kind: 'label_values'; readonly selector: string | undefined; readonly label: string }
  | { readonly kind: 'query_result'; readonly expr: string };

/** A dashboard uses a Grafana variable where no placeholder keeps its PromQL checkable. */
export class DashboardQueryError extends Error {
  readonly code = 'DASHBOARD_QUERY';
  constructor(message: string) {
    super(message);
    this.name = 'DashboardQueryError';
  }
}

/** Grafana's built-in time variables, replaced by values typical of a dashboard over one hour. */
const BUILT_IN_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: '5m',
  __interval: '1m',
  __interval_ms: '60000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};
/** `$name`, `${name}`, `${name:format}`, `[[name]]` and `[[name:format]]`. */
const VARIABLE = /\$(\w+)|\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\]/gy;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is a string, else `fallback`. */
function textOf(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function arrayOf(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Panels at every depth: top-level panels, and the panels of (collapsed) rows. */
export function allPanels(dashboard: unknown): { readonly path: string; readonly panel: Json }[] {
  const found: { path: string; panel: Json }[] = [];
  const visit = (panels: Json[], parent: string): void => {
    for (const panel of panels) {
      const path = `${parent}${textOf(panel['title'], '(untitled)')}`;
      found.push({ path, panel });
      visit(arrayOf(panel['panels']), `${path} › `);
    }
  };
  if (isObject(dashboard)) {
    visit(arrayOf(dashboard['panels']), '');
    // Dashboards older than schema 16 keep their panels in rows[].panels.
    for (const row of arrayOf(dashboard['rows'])) visit(arrayOf(row['panels']), 'rows › ');
  }
  return found;
}

/** Every non-empty `expr` of every panel target. */
export function panelQueries(dashboard: unknown): PanelQuery[] {
  return allPanels(dashboard).flatMap(({ path, panel }) =>
    arrayOf(panel['targets']).flatMap((target) => {
      const expr = target['expr'];
      if (typeof expr !== 'string' || expr.trim() === '') return [];
      return [{ where: `${path} [${textOf(target['refId'], '?')}]`, expr }];
    }),
  );
}

/** The dashboard's templating variables. */
export function templateVariables(dashboard: unknown): TemplateVariable[] {
  const list = isObject(dashboard) && isObject(dashboard['templating']) ? dashboard['templating']['list'] : [];
  return arrayOf(list).map((variable) => {
    const query = variable['query'];
    return {
      name: textOf(variable['name']),
      type: textOf(variable['type']),
      query: typeof query === 'string' ? query : isObject(query) ? textOf(query['query']) : '',
      manyValues: variable['multi'] === true || variable['includeAll'] === true,
    };
  });
}

/** Parses a Prometheus query variable's query; throws DashboardQueryError for kinds the checks cannot follow. */
export function parseTemplateQuery(query: string): TemplateQuery {
  const text = query.trim();
  const labelValues = /^label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(text);
  if (labelValues !== null) return { kind: 'label_values', selector: labelValues[1], label: labelValues[2] ?? '' };
  const queryResult = /^query_result\((.+)\)$/s.exec(text);
  if (queryResult !== null) return { kind: 'query_result', expr: queryResult[1] ?? '' };
  throw new DashboardQueryError(`unsupported variable query '${query}': use label_values() or query_result()`);
}

/** Names of the Grafana variables an expression refers to (built-ins included). */
export function variablesIn(expr: string): string[] {
  return [...expr.matchAll(new RegExp(VARIABLE.source, 'g'))].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/**
 * The expression as PromQL: built-in interval variables become durations; any variable inside a
 * string literal (a label matcher's value) becomes `.*`, which is what "All" sends. A variable
 * anywhere else has no neutral stand-in, so it is refused.
 */
export function substituteGrafanaVariables(expr: string): string {
  let out = '';
  let quote: string | undefined;
  let i = 0;
  while (i < expr.length) {
    const char = expr[i] ?? '';
    if (quote !== undefined) {
      if (char === '\\' && quote !== '`') {
        out += expr.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'" || char === '`') {
      quote = char;
    }
    VARIABLE.lastIndex = i;
    const variable = char === '$' || char === '[' ? VARIABLE.exec(expr) : null;
    if (variable === null) {
      out += char;
      i++;
      continue;
    }
    const name = variable[1] ?? variable[2] ?? variable[3] ?? '';
    const builtIn = BUILT_IN_VALUES[name];
    if (quote !== undefined) out += '.*';
    else if (builtIn !== undefined) out += builtIn;
    else throw new DashboardQueryError(`variable $${name} is used outside a label matcher in: ${expr}`);
    i = VARIABLE.lastIndex;
  }
  return out;
}
