import type { KubeObject } from './kube-object.js';

/**
 * Label and field selectors for list and watch requests, as the apiserver parses them
 * (apimachinery `pkg/labels/selector.go`, `pkg/fields/selector.go`; kubernetes.io/docs/concepts/overview/
 * working-with-objects/labels/ "Label selectors"). Label selectors support the equality forms (`a=b`, `a==b`,
 * `a!=b`), existence (`a`, `!a`) and the set forms (`a in (x,y)`, `a notin (x,y)`); requirements are ANDed.
 */

/** Whether an object passes a selector. */
export type ObjectFilter = (object: KubeObject) => boolean;

/** A selector the apiserver would refuse with 400 BadRequest; `message` is what goes in the Status. */
export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';
}

const labelKeyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValuePattern = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas outside parentheses: `a in (x,y),b` is two requirements. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function checkKey(key: string): string {
  if (!labelKeyPattern.test(key) || key.length > 316) {
    throw new SelectorSyntaxError(`unable to parse requirement: invalid label key "${key}"`);
  }
  return key;
}

function checkValue(value: string): string {
  if (!labelValuePattern.test(value) || value.length > 63) {
    throw new SelectorSyntaxError(`unable to parse requirement: invalid label value: "${value}"`);
  }
  return value;
}

function labelsOf(object: KubeObject): Readonly<Record<string, string>> {
  return object.metadata.labels ?? {};
}

function parseLabelRequirement(text: string): ObjectFilter {
  const setMatch = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (setMatch !== null) {
    const key = checkKey(setMatch[1] ?? '');
    const values = new Set((setMatch[3] ?? '').split(',').map((value) => checkValue(value.trim())));
    const wantIn = setMatch[2] === 'in';
    return (object) => {
      const value = labelsOf(object)[key];
      return wantIn ? value !== undefined && values.has(value) : value === undefined || !values.has(value);
    };
  }
  const equalityMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (equalityMatch !== null) {
    const key = checkKey(equalityMatch[1] ?? '');
    const wanted = checkValue(equalityMatch[3] ?? '');
    const negated = equalityMatch[2] === '!=';
    return (object) => (labelsOf(object)[key] === wanted) !== negated;
  }
  if (text.startsWith('!')) {
    const key = checkKey(text.slice(1).trim());
    return (object) => labelsOf(object)[key] === undefined;
  }
  const key = checkKey(text);
  return (object) => labelsOf(object)[key] !== undefined;
}

/** Parses a `labelSelector` query value; an empty selector selects everything. */
export function parseLabelSelector(text: string): ObjectFilter {
  if (text.trim() === '') return () => true;
  const requirements = splitRequirements(text).map((requirement) => {
    if (requirement === '')
      throw new SelectorSyntaxError(`unable to parse requirement: empty requirement in "${text}"`);
    return parseLabelRequirement(requirement);
  });
  return (object) => requirements.every((requirement) => requirement(object));
}

/** A field the apiserver lets a selector read on one resource (`GetAttrs` of its registry strategy). */
export type FieldReader = (object: KubeObject) => string;

/** The node fields selectable by `fieldSelector` (pkg/registry/core/node/strategy.go `NodeToSelectableFields`). */
export const nodeSelectableFields: Readonly<Record<string, FieldReader>> = {
  'metadata.name': (node) => node.metadata.name ?? '',
  'spec.unschedulable': (node) => {
    const spec = node['spec'];
    const unschedulable = typeof spec === 'object' && spec !== null && 'unschedulable' in spec && spec.unschedulable;
    return unschedulable === true ? 'true' : 'false';
  },
};

/** Parses a `fieldSelector` (`a=b`, `a==b`, `a!=b`, comma-separated) over the given selectable fields. */
export function parseFieldSelector(text: string, fields: Readonly<Record<string, FieldReader>>): ObjectFilter {
  if (text.trim() === '') return () => true;
  const requirements = text.split(',').map((requirement): ObjectFilter => {
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(requirement);
    if (match === null) throw new SelectorSyntaxError(`invalid selector: '${text}'; can't understand '${requirement}'`);
    const field = match[1] ?? '';
    const read = fields[field];
    if (read === undefined) throw new SelectorSyntaxError(`field label not supported: ${field}`);
    const wanted = match[3] ?? '';
    const negated = match[2] === '!=';
    return (object) => (read(object) === wanted) !== negated;
  });
  return (object) => requirements.every((requirement) => requirement(object));
}
