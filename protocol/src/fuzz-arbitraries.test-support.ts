/**
 * Hostile-input generators shared by the codec fuzz suite (protocol/src/codec.fuzz.test.ts) and the
 * system fuzz suite (cli/src/system/fuzz.test.ts). Test-only; excluded from the build.
 *
 * Bodies are built from a message's own example so that the hostile part lands where a decoder
 * looks: a field of the right name holding the wrong thing, a `__proto__` key next to real fields,
 * thousands of nesting levels inside a field. Nesting and raw numbers are spliced in as JSON text,
 * because building them as values would overflow this side's JSON.stringify or lose the spelling.
 */
import * as fc from 'fast-check';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import type { MessageName } from './export-schemas.js';
import { MAX_MESSAGE_BYTES } from './version.js';

/** Fixed seed for CI: the same bodies every run, so a failure replays. Override with SWITCHYARD_FUZZ_SEED. */
export const DEFAULT_FUZZ_SEED = 20261123;

function integerFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name}=${JSON.stringify(raw)} must be an integer of at least ${min}`);
  }
  return value;
}

/** The seed every fuzz property runs with (SWITCHYARD_FUZZ_SEED, else DEFAULT_FUZZ_SEED). */
export const FUZZ_SEED = integerFromEnv('SWITCHYARD_FUZZ_SEED', DEFAULT_FUZZ_SEED, Number.MIN_SAFE_INTEGER);

/** Runs per property: SWITCHYARD_FUZZ_RUNS when set (the long, on-demand mode), else the suite's CI default. */
export function fuzzRuns(ciDefault: number): number {
  return integerFromEnv('SWITCHYARD_FUZZ_RUNS', ciDefault, 1);
}

/**
 * fast-check parameters of one property. On failure fast-check prints the seed and the path of the
 * smallest counterexample; SWITCHYARD_FUZZ_SEED plus SWITCHYARD_FUZZ_PATH (with `-t` naming the
 * test) replays exactly that case.
 */
function fuzzParameters<T>(numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const path = process.env['SWITCHYARD_FUZZ_PATH'];
  return { seed: FUZZ_SEED, numRuns, ...(path === undefined || path === '' ? {} : { path }), ...extra };
}

/** A vitest timeout for a property of `runs` runs of at most `perRunMs` each: CI's 30 s, or more on demand. */
export function fuzzTimeoutMs(runs: number, perRunMs: number): number {
  return Math.max(30_000, runs * perRunMs);
}

/** fast-check's report of a failed run (seed, path, counterexample, error) and the error's stack. */
function failureReport<Ts>(details: fc.RunDetails<Ts>): string | undefined {
  if (!details.failed) return undefined;
  const stack = details.errorInstance instanceof Error ? details.errorInstance.stack : undefined;
  return [fc.defaultReportMessage(details), stack].filter((part) => part !== undefined).join('\n');
}

/**
 * Runs `property` `numRuns` times with the suite's seed: undefined when it held, else fast-check's
 * whole report. Tests assert `expect(fuzzFailure(...)).toBeUndefined()`, so a failure shows the report.
 */
export function fuzzFailure<Ts>(
  property: fc.IProperty<Ts>,
  numRuns: number,
  extra: fc.Parameters<Ts> = {},
): string | undefined {
  return failureReport(fc.check(property, fuzzParameters(numRuns, extra)));
}

/** fuzzFailure for an asynchronous property. */
export async function fuzzFailureAsync<Ts>(
  property: fc.IAsyncProperty<Ts>,
  numRuns: number,
  extra: fc.Parameters<Ts> = {},
): Promise<string | undefined> {
  return failureReport(await fc.check(property, fuzzParameters(numRuns, extra)));
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** Where a value sits inside a body: object keys and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

/** A message's documented example as plain JSON data. */
export function exampleOf(name: MessageName): Json {
  return JSON.parse(JSON.stringify(EXAMPLE_MESSAGES[name])) as Json;
}

const isContainer = (value: Json | undefined): value is Json[] | { [key: string]: Json } =>
  typeof value === 'object' && value !== null;

/** Every path in `value`, the root ([]) first. */
export function pathsOf(value: Json, prefix: JsonPath = []): JsonPath[] {
  const paths: JsonPath[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else if (isContainer(value)) {
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

function valueAt(root: Json, path: JsonPath): Json | undefined {
  let node: Json | undefined = root;
  for (const step of path) {
    if (!isContainer(node) || !Object.hasOwn(node, step)) return undefined;
    node = (node as Record<string | number, Json>)[step];
  }
  return node;
}

/** Sets an own, enumerable property even where the key is `__proto__` (plain assignment would set the prototype). */
function defineMember(container: Json[] | { [key: string]: Json }, key: string | number, value: Json): void {
  Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The top-level protocol version field, the one place where the codec treats a value specially. */
export const isVersionPath = (path: JsonPath): boolean => path.length === 1 && path[0] === 'v';

/** One change to an example body. `fragment` is JSON text (possibly deliberately invalid). */
export type Mutation =
  | { kind: 'replace'; path: JsonPath; fragment: string }
  | { kind: 'add-member'; path: JsonPath; key: string; fragment: string }
  | { kind: 'rename-key'; path: JsonPath; key: string }
  | { kind: 'delete'; path: JsonPath };

/** A placeholder no example contains, swapped for the mutation's fragment text after serialising. */
const placeholderOf = (index: number): string => `fuzz-fragment-${index}-3c9e71d2`;

/**
 * `base` with `mutations` applied in order, as JSON text. A mutation whose path an earlier one
 * removed is skipped. Fragments are spliced in as text, so they may be any size, depth or spelling.
 */
export function mutatedText(base: Json, mutations: readonly Mutation[]): string {
  let root = structuredClone(base);
  const fragments: string[] = [];
  const splice = (fragment: string): string => {
    fragments.push(fragment);
    return placeholderOf(fragments.length - 1);
  };
  for (const mutation of mutations) {
    if (mutation.kind === 'add-member') {
      const container = valueAt(root, mutation.path);
      if (!isContainer(container)) continue;
      const placeholder = splice(mutation.fragment);
      if (Array.isArray(container)) container.push(placeholder);
      else defineMember(container, mutation.key, placeholder);
      continue;
    }
    if (mutation.path.length === 0) {
      if (mutation.kind === 'replace') root = splice(mutation.fragment);
      continue;
    }
    const parent = valueAt(root, mutation.path.slice(0, -1));
    const key = mutation.path.at(-1) as string | number;
    if (!isContainer(parent) || !Object.hasOwn(parent, key)) continue;
    if (mutation.kind === 'replace') {
      defineMember(parent, key, splice(mutation.fragment));
    } else if (mutation.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (!Array.isArray(parent)) {
      const value = parent[key] as Json;
      delete parent[key];
      defineMember(parent, mutation.key, value);
    }
  }
  let text = JSON.stringify(root);
  fragments.forEach((fragment, index) => {
    // A replacer function, so that `$&` and friends in a fragment stay literal.
    text = text.replace(JSON.stringify(placeholderOf(index)), () => fragment);
  });
  return text;
}

/** Numbers as JSON allows spelling them: the edges of doubles and of safe integers, overflow to ±Infinity, negative zero. */
export const EXTREME_NUMBER_TEXTS = [
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '1e309',
  '-1e400',
  '-0',
  '-0.0',
  '0e-5',
  '5e-324',
  '1e-400',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '18446744073709551616',
  '123456789012345678901234567890123456789',
  '8640000000000000001',
  '2147483648',
  '4294967296',
  '-1',
  '0.5',
  '1E+2',
] as const;

/** Keys that reach prototypes or built-ins when code copies or indexes objects carelessly. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  'hasOwnProperty',
  'isPrototypeOf',
  'toString',
  'valueOf',
  'toJSON',
  'then',
  'length',
] as const;

/** The property a polluting payload tries to plant on Object.prototype. */
export const POLLUTION_SENTINEL = 'polluted_by_fuzz';

/** Bodies whose only aim is to reach a prototype, at the level where they are spliced in. */
const POLLUTION_FRAGMENTS = [
  `{"__proto__":{"${POLLUTION_SENTINEL}":true}}`,
  `{"constructor":{"prototype":{"${POLLUTION_SENTINEL}":true}}}`,
  `{"prototype":{"${POLLUTION_SENTINEL}":true}}`,
  `{"__proto__":{"__proto__":{"${POLLUTION_SENTINEL}":true}}}`,
  `[{"__proto__":{"${POLLUTION_SENTINEL}":true}}]`,
  '{"__proto__":null}',
  '{"__proto__":[]}',
  '{"__proto__":7}',
] as const;

/** Strings a decoder should carry or refuse, never choke on: NUL, control and format characters, lone surrogates. */
export function hostileString(maxLength = 64): fc.Arbitrary<string> {
  const codeUnits = (min: number, max: number): fc.Arbitrary<string> =>
    fc
      .array(fc.integer({ min, max }), { maxLength })
      .map((units) => String.fromCharCode(...units))
      .filter((text) => text.length <= maxLength);
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    codeUnits(0xd800, 0xdfff),
    codeUnits(0, 0xffff),
    fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff', '\ude00\ud83d', '\ufeff', '\u2028\u2029', '\u001b[31m'),
  );
}

/** Keys worth planting: prototype names, hostile strings, ordinary strings. Never `v`, whose value is fuzzed on its own. */
export const hostileKey: fc.Arbitrary<string> = fc
  .oneof(fc.constantFrom(...PROTOTYPE_KEYS), hostileString(16), fc.string({ maxLength: 16 }))
  .filter((key) => key !== 'v');

/** The shapes deep nesting takes: arrays, objects, objects keyed by prototype names, both mixed. */
export const NESTING_SHAPES = ['array', 'object', 'proto', 'constructor', 'mixed'] as const;
export type NestingShape = (typeof NESTING_SHAPES)[number];

/** JSON text nested `depth` levels deep, built as text (this side's JSON.stringify would overflow on it). */
export function nestedText(depth: number, shape: NestingShape, leaf = '0'): string {
  const open = {
    array: '[',
    object: '{"a":',
    proto: '{"__proto__":',
    constructor: '{"constructor":',
    mixed: '[{"a":',
  }[shape];
  const close = { array: ']', object: '}', proto: '}', constructor: '}', mixed: '}]' }[shape];
  const levels = shape === 'mixed' ? Math.ceil(depth / 2) : depth;
  return open.repeat(levels) + leaf + close.repeat(levels);
}

/**
 * Hostile JSON text for one value: wrong types, extreme numbers, hostile strings, pollution
 * attempts, huge strings, nesting up to `maxNestingDepth` levels, and text that is not JSON at all
 * (an unescaped control character, a lone bracket).
 */
export function hostileFragment(maxNestingDepth: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.constantFrom(...EXTREME_NUMBER_TEXTS),
    fc.double().map((value) => (Number.isFinite(value) ? String(value) : '1e999')),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).map(String),
    hostileString().map((text) => JSON.stringify(text)),
    fc.constantFrom(...POLLUTION_FRAGMENTS),
    fc
      .record({ depth: fc.integer({ min: 1, max: maxNestingDepth }), shape: fc.constantFrom(...NESTING_SHAPES) })
      .map(({ depth, shape }) => nestedText(depth, shape)),
    fc
      .record({ length: fc.integer({ min: 4096, max: 40_000 }), unit: fc.constantFrom('x', 'é', '€', '😀', '\u0000') })
      .map(({ length, unit }) => JSON.stringify(unit.repeat(length))),
    fc.constantFrom(
      '"a\u0000b"',
      '"tab\there"',
      '"\ud800"',
      '[',
      '{',
      '}',
      '"',
      'NaN',
      'Infinity',
      'undefined',
      "'1'",
      '01',
    ),
  );
}

/** "A few thousand levels": deep enough for any recursive walker to overflow its stack. */
export const MAX_FUZZ_NESTING_DEPTH = 10_000;

/** Hostile mutations of `base` (a message's example or a variant of it). */
export function hostileMutation(base: Json): fc.Arbitrary<Mutation> {
  const paths = pathsOf(base);
  const valuePaths = paths.filter((path) => !isVersionPath(path));
  const containerPaths = paths.filter((path) => isContainer(valueAt(base, path) ?? null));
  const memberPaths = paths.filter((path) => path.length > 0);
  const keyPaths = memberPaths.filter((path) => typeof path.at(-1) === 'string');
  const replaceVersion = pathsOf(base).some(isVersionPath)
    ? [
        fc.record({
          kind: fc.constant('replace' as const),
          path: fc.constant(['v'] as JsonPath),
          fragment: hostileFragment(MAX_FUZZ_NESTING_DEPTH),
        }),
      ]
    : [];
  return fc.oneof(
    fc.record({
      kind: fc.constant('replace' as const),
      path: fc.constantFrom(...valuePaths),
      fragment: hostileFragment(MAX_FUZZ_NESTING_DEPTH),
    }),
    ...replaceVersion,
    fc.record({
      kind: fc.constant('add-member' as const),
      path: fc.constantFrom(...containerPaths),
      key: hostileKey,
      fragment: hostileFragment(MAX_FUZZ_NESTING_DEPTH),
    }),
    ...(keyPaths.length > 0
      ? [fc.record({ kind: fc.constant('rename-key' as const), path: fc.constantFrom(...keyPaths), key: hostileKey })]
      : []),
    fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...memberPaths) }),
  );
}

/**
 * A body made of the message's own field names, each holding a hostile value: what a confused or
 * malicious peer that knows the schema sends. `v` is 1 or a (shallow) hostile value.
 */
export function fieldNameBody(base: Json): fc.Arbitrary<string> {
  const fieldNames = isContainer(base) && !Array.isArray(base) ? Object.keys(base).filter((key) => key !== 'v') : [];
  return fc
    .record({
      version: fc.oneof(fc.constant('1'), hostileFragment(MAX_FUZZ_NESTING_DEPTH)),
      fields: fc
        .subarray(fieldNames)
        .chain((names) =>
          fc.tuple(
            ...names.map((name) =>
              hostileFragment(MAX_FUZZ_NESTING_DEPTH).map((fragment): [string, string] => [name, fragment]),
            ),
          ),
        ),
    })
    .map(
      ({ version, fields }) =>
        `{"v":${version}${fields.map(([name, fragment]) => `,${JSON.stringify(name)}:${fragment}`).join('')}}`,
    );
}

/** Hostile JSON text for a message: one to four mutations of `base`, or its field names with hostile values. */
export function hostileBody(base: Json): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .array(hostileMutation(base), { minLength: 1, maxLength: 4 })
        .map((mutations) => mutatedText(base, mutations)),
    },
    { weight: 1, arbitrary: fieldNameBody(base) },
  );
}

/** Any JSON value at all as text, including what fc.anything makes of Maps, boxed values and null-prototype objects. */
export const anyJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .anything({
      key: hostileKey,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withTypedArray: true,
      withSparseArray: true,
      withDate: true,
    })
    .map((value) => JSON.stringify(value) ?? 'null'),
);

/** Byte sequences that are not UTF-8 wherever they stand between two characters. */
export const INVALID_UTF8_SEQUENCES: readonly (readonly number[])[] = [
  [0x80],
  [0xbf],
  [0xfe],
  [0xff],
  [0xc0, 0xaf], // overlong "/"
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf], // overlong 3-byte
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xe2, 0x82], // truncated 3-byte: the next byte is a character start, never a continuation
  [0xf0, 0x9f, 0x98],
  [0xc2],
];

/** Offsets in `bytes` where a character starts (or the end): inserting there cannot complete a split sequence. */
export function characterBoundaries(bytes: Uint8Array): number[] {
  const boundaries: number[] = [];
  for (let i = 0; i <= bytes.length; i++) {
    const byte = bytes[i];
    if (byte === undefined || (byte & 0xc0) !== 0x80) boundaries.push(i);
  }
  return boundaries;
}

/** `bytes` with `sequence` inserted at `offset`. */
export function withInserted(bytes: Uint8Array, offset: number, sequence: readonly number[]): Uint8Array {
  const out = new Uint8Array(bytes.length + sequence.length);
  out.set(bytes.subarray(0, offset), 0);
  out.set(sequence, offset);
  out.set(bytes.subarray(offset), offset + sequence.length);
  return out;
}

/** Ways to pad a body to an exact byte size. */
export const PADDINGS = ['whitespace', 'unknown-string', 'multibyte-string', 'number-array', 'deep-array'] as const;
export type Padding = (typeof PADDINGS)[number];

const utf8Encoder = new TextEncoder();
const byteLength = (text: string): number => utf8Encoder.encode(text).byteLength;

/**
 * `text` (a JSON object) grown to exactly `targetBytes` bytes of UTF-8 with `padding`: trailing
 * whitespace, an unknown member holding an ASCII or three-byte string, a long array of numbers, or
 * an array nested as deep as the size allows. Whitespace tops up whatever the unit size leaves over.
 */
export function paddedTo(text: string, targetBytes: number, padding: Padding): Uint8Array {
  if (padding === 'whitespace') return utf8Encoder.encode(text + ' '.repeat(targetBytes - byteLength(text)));
  const inner = text.slice(0, text.lastIndexOf('}'));
  const prefix = `${inner}${/\{\s*$/.test(inner) ? '' : ','}"pad":`;
  const room = targetBytes - byteLength(prefix) - byteLength('}');
  let member: string;
  if (padding === 'unknown-string') member = JSON.stringify('x'.repeat(Math.max(0, room - 2)));
  else if (padding === 'multibyte-string') member = JSON.stringify('€'.repeat(Math.max(0, Math.floor((room - 2) / 3))));
  else if (padding === 'number-array')
    member = `[${Array.from({ length: Math.max(1, Math.floor((room - 1) / 2)) }, () => '1').join(',')}]`;
  else member = nestedText(Math.max(1, Math.floor((room - 1) / 2)), 'array');
  const body = `${prefix}${member}}`;
  return utf8Encoder.encode(body + ' '.repeat(Math.max(0, targetBytes - byteLength(body))));
}

/** Sizes at the limit: one under, exactly at, one over. */
export const SIZES_AT_LIMIT = [MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES + 1] as const;

/** The prototypes a JSON decoder could pollute, by name. */
const BUILT_IN_PROTOTYPES: Readonly<Record<string, object>> = {
  'Object.prototype': Object.prototype,
  'Array.prototype': Array.prototype,
};

/**
 * Snapshot of prototypes a decoder could pollute. `changes()` names every key added, removed or
 * replaced since the snapshot, and whether a fresh object sees POLLUTION_SENTINEL.
 */
export class PrototypeGuard {
  private readonly snapshots = new Map<string, Map<string | symbol, PropertyDescriptor>>();

  constructor(private readonly prototypes: Readonly<Record<string, object>> = BUILT_IN_PROTOTYPES) {
    for (const [label, prototype] of Object.entries(prototypes)) this.snapshots.set(label, describeOwn(prototype));
  }

  /** Every change since construction, as readable lines; empty when nothing was touched. */
  changes(): string[] {
    const found: string[] = [];
    for (const [label, prototype] of Object.entries(this.prototypes)) {
      const before = this.snapshots.get(label) ?? new Map<string | symbol, PropertyDescriptor>();
      const now = describeOwn(prototype);
      for (const [key, descriptor] of now) {
        const old = before.get(key);
        if (old === undefined) found.push(`${label}.${String(key)} was added`);
        else if (old.value !== descriptor.value || old.get !== descriptor.get || old.set !== descriptor.set) {
          found.push(`${label}.${String(key)} was replaced`);
        }
      }
      for (const key of before.keys()) if (!now.has(key)) found.push(`${label}.${String(key)} was removed`);
    }
    if (POLLUTION_SENTINEL in {}) found.push(`a fresh object has "${POLLUTION_SENTINEL}"`);
    return found;
  }

  /** Throws naming the damage when a prototype changed; `after` says what had just run. */
  check(after: string): void {
    const found = this.changes();
    if (found.length > 0) throw new Error(`prototype pollution after ${after}: ${found.join('; ')}`);
  }
}

function describeOwn(target: object): Map<string | symbol, PropertyDescriptor> {
  const descriptors = new Map<string | symbol, PropertyDescriptor>();
  for (const key of Reflect.ownKeys(target)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
    if (descriptor !== undefined) descriptors.set(key, descriptor);
  }
  return descriptors;
}
