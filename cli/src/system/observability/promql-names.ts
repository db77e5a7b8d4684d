/**
 * Metric names and label matchers read out of PromQL text, so that rules and dashboards can be
 * checked against the metric catalogue. This is a scanner, not a parser: promtool judges whether an
 * expression is valid; this only needs to tell metric names from functions, keywords, label names,
 * strings and durations in expressions that promtool accepts.
 */

/** One vector selector: `name{label="…", …}` or a bare `{__name__="…"}`. */
export interface PromqlSelector {
  readonly name: string;
  /** Label names its matchers use (without `__name__`). */
  readonly labels: readonly string[];
}

/** Aggregation operators: identifiers that may be followed by `by (…)` instead of `(`. */
const AGGREGATIONS: ReadonlySet<string> = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Modifiers followed by a parenthesised list of label names. */
const LABEL_LIST_MODIFIERS: ReadonlySet<string> = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'inf', 'nan']);

const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
/** Numbers, hex, and durations such as `5m` or `1h30m` (after `offset`, `@`). */
const NUMBER = /(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)[a-zA-Z0-9_]*/y;
const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;

/** Index just past the string literal that opens at `start` (quotes `"`, `'` or a backtick). */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += text[i] === '\\' && quote !== '`' ? 2 : 1;
  return i + 1;
}

/** Index just past the bracket that closes the one at `start`, skipping string literals. */
function skipBracketed(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const char = text[i];
    if (char === '"' || char === "'" || char === '`') {
      i = skipString(text, i);
      continue;
    }
    if (char === open) depth++;
    else if (char === close && --depth === 0) return i + 1;
    i++;
  }
  return text.length;
}

function nextNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  return i;
}

/** The string value of a quoted literal (escapes other than `\"` are kept as written). */
function unquote(literal: string): string {
  return literal.slice(1, -1).replaceAll(/\\(["'\\])/g, '$1');
}

function matchersOf(body: string): { labels: string[]; name: string | undefined } {
  const labels: string[] = [];
  let name: string | undefined;
  for (const [, label = '', operator, value = ''] of body.matchAll(MATCHER)) {
    if (label === '__name__') {
      if (operator === '=') name = unquote(value);
    } else labels.push(label);
  }
  return { labels, name };
}

/** Every vector selector of an expression, in order of appearance (repeats included). */
export function selectorsIn(expr: string): PromqlSelector[] {
  const selectors: PromqlSelector[] = [];
  let i = 0;
  while (i < expr.length) {
    const char = expr[i] ?? '';
    if (char === '#') {
      // A comment runs to the end of the line.
      const end = expr.indexOf('\n', i);
      i = end === -1 ? expr.length : end;
    } else if (char === '"' || char === "'" || char === '`') {
      i = skipString(expr, i);
    } else if (char === '[') {
      i = skipBracketed(expr, i, '[', ']');
    } else if (char === '{') {
      const end = skipBracketed(expr, i, '{', '}');
      const { labels, name } = matchersOf(expr.slice(i + 1, end - 1));
      if (name !== undefined) selectors.push({ name, labels });
      i = end;
    } else if (/[0-9.]/.test(char)) {
      NUMBER.lastIndex = i;
      i = NUMBER.exec(expr) === null ? i + 1 : NUMBER.lastIndex;
    } else if (/[a-zA-Z_:]/.test(char)) {
      IDENTIFIER.lastIndex = i;
      const word = IDENTIFIER.exec(expr)?.[0] ?? char;
      const after = nextNonSpace(expr, i + word.length);
      const grafanaVariable = expr[i - 1] === '$';
      i += word.length;
      if (grafanaVariable) continue;
      if (LABEL_LIST_MODIFIERS.has(word)) {
        if (expr[after] === '(') i = skipBracketed(expr, after, '(', ')');
        continue;
      }
      if (expr[after] === '(' || AGGREGATIONS.has(word) || KEYWORDS.has(word.toLowerCase())) continue;
      if (expr[after] === '{') {
        const end = skipBracketed(expr, after, '{', '}');
        selectors.push({ name: word, labels: matchersOf(expr.slice(after + 1, end - 1)).labels });
        i = end;
      } else {
        selectors.push({ name: word, labels: [] });
      }
    } else {
      i++;
    }
  }
  return selectors;
}

/** The distinct metric names an expression selects, in order of first appearance. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(selectorsIn(expr).map((selector) => selector.name))];
}
