/**
 * Property-based fuzzing of `decode` over every wire message (issue 9, part 4: hostile input).
 * Whatever arrives, decode must not throw, must not touch a prototype, and must answer either a
 * value that survives validation again or a typed WireError whose message quotes no more of the
 * input than a short excerpt. Messages are enumerated from MESSAGE_SCHEMAS (the list the JSON
 * Schema export uses), so a new message is fuzzed the day it is added.
 *
 * CI runs a fixed seed and FUZZ_RUNS = 100 runs per property of each message (SIZE_RUNS = 10 for
 * the one that builds bodies at the 256 KiB limit; BLIND_RUNS = 50 for the schema-blind ones, each
 * run decoding its body as every message): about 12 s for the file on a 2-core VM. Longer, on demand:
 *
 *   SWITCHYARD_FUZZ_RUNS=100000 npx vitest run protocol/src/codec.fuzz.test.ts
 *   SWITCHYARD_FUZZ_SEED=$RANDOM SWITCHYARD_FUZZ_RUNS=5000 npx vitest run protocol/src/codec.fuzz.test.ts
 *
 * A failure prints fast-check's seed and counterexample path; add SWITCHYARD_FUZZ_SEED=<seed>
 * SWITCHYARD_FUZZ_PATH=<path> and `-t '<test name>'` to replay exactly that case.
 */
import * as fc from 'fast-check';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { type Decoded, decode, describeIssues, encode } from './codec.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { type MessageName, messageNames } from './export-schemas.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { WireError } from './messages/common.js';
import { InferRequest } from './messages/inference.js';
import { MAX_MESSAGE_BYTES } from './version.js';
import {
  anyJsonText,
  characterBoundaries,
  exampleOf,
  fuzzFailure,
  fuzzRuns,
  fuzzTimeoutMs,
  hostileBody,
  hostileFragment,
  INVALID_UTF8_SEQUENCES,
  isVersionPath,
  MAX_FUZZ_NESTING_DEPTH,
  mutatedText,
  nestedText,
  NESTING_SHAPES,
  type Padding,
  PADDINGS,
  paddedTo,
  pathsOf,
  PrototypeGuard,
  SIZES_AT_LIMIT,
  withInserted,
} from './fuzz-arbitraries.test-support.js';

/** Runs per property in CI; SWITCHYARD_FUZZ_RUNS overrides. */
const FUZZ_RUNS = fuzzRuns(100);
/** Runs of the properties that build 256 KiB bodies (a few milliseconds each to build and parse). */
const SIZE_RUNS = Math.max(4, Math.ceil(FUZZ_RUNS / 10));
/** Runs of the schema-blind properties, each of which decodes its body as every message. */
const BLIND_RUNS = Math.max(1, Math.ceil(FUZZ_RUNS / 2));

/** The only codes decode itself produces; anything else would be a handler's code leaking into the codec. */
const DECODE_CODES: readonly ErrorCode[] = ['INVALID_REQUEST', 'UNSUPPORTED_VERSION', 'PAYLOAD_TOO_LARGE'];
/** WireError.message's maxLength. */
const MAX_ERROR_MESSAGE_CHARS = 2048;
/**
 * The longest run of a field's value an error message may quote. V8's JSON.parse errors show up to
 * 10 characters either side of the fault; zod's issues name paths and expectations, never values.
 */
const MAX_ECHOED_VALUE_CHARS = 32;

const names = messageNames();
const utf8Encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text);
const guard = new PrototypeGuard();

const describeThrown = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);

/** Checks everything a decoded value promises: it validates again, round-trips, and carries no prototype tricks. */
function checkDecodedValue(name: MessageName, schema: z.ZodType, value: unknown): void {
  const again = schema.safeParse(value);
  if (!again.success)
    throw new Error(`${name}: decoded value fails its own schema: ${describeIssues(again.error.issues)}`);
  // Re-encoding may legitimately grow a body that was at the limit (1e308 → 1e+308), so no limit here.
  const reencoded = decode(schema, encode(value as object, Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  if (!reencoded.ok) throw new Error(`${name}: decoded value does not decode again: ${reencoded.error.message}`);
  if (JSON.stringify(reencoded.value) !== JSON.stringify(value)) {
    throw new Error(`${name}: decoded value changes on a second encode/decode`);
  }
  const walk = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const prototype: unknown = Object.getPrototypeOf(node);
    if (prototype !== Object.prototype && prototype !== Array.prototype) {
      throw new Error(`${name}: decoded ${where} has an unexpected prototype`);
    }
    if (Object.hasOwn(node, '__proto__')) throw new Error(`${name}: decoded ${where} has an own "__proto__" key`);
    for (const [key, child] of Object.entries(node)) walk(child, `${where}.${key}`);
  };
  walk(value, '(body)');
}

/**
 * Decodes `bytes` as message `name` and checks the outcome. Throws (failing the property) when
 * decode throws, pollutes a prototype, or answers anything but a valid value or a typed WireError.
 */
function checkedDecode(name: MessageName, bytes: Uint8Array): Decoded<unknown> {
  const schema: z.ZodType = MESSAGE_SCHEMAS[name];
  let decoded: Decoded<unknown>;
  try {
    decoded = decode(schema, bytes);
  } catch (err) {
    throw new Error(`decode(${name}) threw on a ${bytes.byteLength}-byte body: ${describeThrown(err)}`, { cause: err });
  }
  guard.check(`decoding a ${name} body`);
  if (decoded.ok) {
    checkDecodedValue(name, schema, decoded.value);
    return decoded;
  }
  const { error } = decoded;
  if (!ERROR_CODES.includes(error.code) || !DECODE_CODES.includes(error.code)) {
    throw new Error(`decode(${name}) failed with code ${JSON.stringify(error.code)}, not one decode produces`);
  }
  const wire = WireError.safeParse(error);
  if (!wire.success) throw new Error(`decode(${name}) error is not a WireError: ${describeIssues(wire.error.issues)}`);
  if (error.message.length > MAX_ERROR_MESSAGE_CHARS || error.message.length === 0) {
    throw new Error(`decode(${name}) error message is ${error.message.length} characters`);
  }
  if (error.retryable) throw new Error(`decode(${name}) called a malformed body retryable`);
  if (bytes.byteLength > MAX_MESSAGE_BYTES && error.code !== 'PAYLOAD_TOO_LARGE') {
    throw new Error(`decode(${name}) answered ${error.code} to an oversize body`);
  }
  return decoded;
}

/** Whether `message` quotes more than `limit` consecutive characters of `value`. */
function quotesMoreThan(message: string, value: string, limit: number): boolean {
  if (value.length <= limit) return false;
  const windows = new Set<string>();
  for (let i = 0; i + limit < value.length; i++) windows.add(value.slice(i, i + limit + 1));
  for (let i = 0; i + limit < message.length; i++) if (windows.has(message.slice(i, i + limit + 1))) return true;
  return false;
}

/**
 * What a body padded to `size` bytes must decode to: past the limit, PAYLOAD_TOO_LARGE naming both
 * sizes; within it, the valid example padded with whitespace decodes, and any other padding is an
 * unknown "pad" member, which every message (a strict object) refuses by name.
 */
function expectedAtLimit(size: number, padding: Padding): RegExp {
  if (size > MAX_MESSAGE_BYTES)
    return new RegExp(`^PAYLOAD_TOO_LARGE: body is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES}$`);
  return padding === 'whitespace' ? /^ok$/ : /^INVALID_REQUEST: .*Unrecognized key: "pad"/;
}

describe.each(names)('decode fuzzed: %s', (name) => {
  const example = exampleOf(name);
  const exampleText = JSON.stringify(example);
  const memberPaths = pathsOf(example).filter((path) => path.length > 0);
  const valuePaths = memberPaths.filter((path) => !isVersionPath(path));

  it(
    'hostile mutations of its example (wrong types, extreme numbers, prototype keys, deep nesting, control characters) fail typed or re-validate',
    () => {
      expect(
        fuzzFailure(
          fc.property(hostileBody(example), (text) => {
            checkedDecode(name, utf8(text));
          }),
          FUZZ_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(FUZZ_RUNS, 50),
  );

  it(
    'its example with one field changed to any JSON value, or removed, decodes to a value that re-validates or fails typed',
    () => {
      const anyValueText = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
        fc.integer().map(String),
        fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
        fc.string().map((text) => JSON.stringify(text)),
        fc.boolean().map(String),
      );
      const oneField = fc.oneof(
        fc.record({
          kind: fc.constant('replace' as const),
          path: fc.constantFrom(...memberPaths),
          fragment: anyValueText,
        }),
        fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...memberPaths) }),
      );
      expect(
        fuzzFailure(
          fc.property(oneField, (change) => {
            checkedDecode(name, utf8(mutatedText(example, [change])));
          }),
          FUZZ_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(FUZZ_RUNS, 20),
  );

  it(
    'invalid UTF-8 anywhere in it is refused as INVALID_REQUEST, not parsed',
    () => {
      const body = fc.oneof(fc.constant(exampleText), hostileBody(example));
      expect(
        fuzzFailure(
          fc.property(body, fc.nat(), fc.constantFrom(...INVALID_UTF8_SEQUENCES), (text, pick, sequence) => {
            const bytes = utf8(text);
            const boundaries = characterBoundaries(bytes);
            const broken = withInserted(bytes, boundaries[pick % boundaries.length] ?? 0, sequence);
            const decoded = checkedDecode(name, broken);
            const expected =
              broken.byteLength > MAX_MESSAGE_BYTES
                ? { code: 'PAYLOAD_TOO_LARGE' }
                : { code: 'INVALID_REQUEST', message: 'body is not valid UTF-8' };
            expect(decoded).toMatchObject({ ok: false, error: expected });
          }),
          FUZZ_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(FUZZ_RUNS, 50),
  );

  it(
    'padded to one byte under, exactly at and one byte over MAX_MESSAGE_BYTES: judged on content up to the limit, PAYLOAD_TOO_LARGE past it',
    () => {
      expect(
        fuzzFailure(
          fc.property(fc.constantFrom(...SIZES_AT_LIMIT), fc.constantFrom(...PADDINGS), (size, padding) => {
            const bytes = paddedTo(exampleText, size, padding);
            expect(bytes.byteLength).toBe(size);
            const decoded = checkedDecode(name, bytes);
            const outcome = decoded.ok ? 'ok' : `${decoded.error.code}: ${decoded.error.message}`;
            expect(outcome).toMatch(expectedAtLimit(size, padding));
          }),
          SIZE_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(SIZE_RUNS, 500),
  );

  it(
    'never quotes a field value in its error beyond a short excerpt, whether the body parses or not',
    () => {
      const marker = fc.string({
        unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')),
        minLength: MAX_ECHOED_VALUE_CHARS + 1,
        maxLength: 1500,
      });
      const form = fc.constantFrom('string', 'unquoted', 'truncated', 'control-character');
      expect(
        fuzzFailure(
          fc.property(marker, fc.constantFrom(...valuePaths), form, (value, path, how) => {
            const quoted =
              how === 'control-character' ? `"${value.slice(0, 10)}\n${value.slice(10)}"` : JSON.stringify(value);
            let text = mutatedText(example, [{ kind: 'replace', path, fragment: how === 'unquoted' ? value : quoted }]);
            if (how === 'truncated') text = text.slice(0, text.indexOf(value) + Math.floor(value.length / 2));
            const decoded = checkedDecode(name, utf8(text));
            if (!decoded.ok && quotesMoreThan(decoded.error.message, value, MAX_ECHOED_VALUE_CHARS)) {
              throw new Error(`${name}: error quotes the value at ${path.join('.')}: ${decoded.error.message}`);
            }
          }),
          FUZZ_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(FUZZ_RUNS, 20),
  );
});

describe('decode fuzzed with schema-blind input, as every wire message', () => {
  it(
    'arbitrary bytes, and JSON text with bytes flipped',
    () => {
      const flipped = fc
        .record({
          text: anyJsonText,
          flips: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        })
        .map(({ text, flips }) => {
          const bytes = utf8(text);
          for (const { at, byte } of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte;
          return bytes;
        });
      expect(
        fuzzFailure(
          fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), flipped), (bytes) => {
            for (const name of names) checkedDecode(name, bytes);
          }),
          BLIND_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(BLIND_RUNS, 100),
  );

  it(
    'arbitrary JSON values, bare and stamped with "v": 1',
    () => {
      expect(
        fuzzFailure(
          fc.property(anyJsonText, fc.boolean(), (text, stamp) => {
            const body = stamp && text.startsWith('{') ? `{"v":1${text === '{}' ? '' : ','}${text.slice(1)}` : text;
            for (const name of names) checkedDecode(name, utf8(body));
          }),
          BLIND_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(BLIND_RUNS, 100),
  );

  it(
    'whole bodies nested thousands of levels deep, up to the size limit, with and without a valid "v"',
    () => {
      const depth = fc.oneof(
        fc.integer({ min: 1, max: MAX_FUZZ_NESTING_DEPTH }),
        fc.integer({ min: MAX_FUZZ_NESTING_DEPTH, max: MAX_MESSAGE_BYTES / 2 }),
      );
      const shape = fc.constantFrom(...NESTING_SHAPES);
      const wrapper = fc.constantFrom('bare', 'member', 'proto-member');
      expect(
        fuzzFailure(
          fc.property(depth, shape, wrapper, (levels, nesting, how) => {
            const inner = nestedText(levels, nesting);
            const body =
              how === 'bare' ? inner : how === 'member' ? `{"v":1,"a":${inner}}` : `{"v":1,"__proto__":${inner}}`;
            for (const name of names) checkedDecode(name, utf8(body));
          }),
          SIZE_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(SIZE_RUNS, 2000),
  );

  it(
    'hostile fragments as whole bodies',
    () => {
      expect(
        fuzzFailure(
          fc.property(hostileFragment(MAX_FUZZ_NESTING_DEPTH), (text) => {
            for (const name of names) checkedDecode(name, utf8(text));
          }),
          BLIND_RUNS,
        ),
      ).toBeUndefined();
    },
    fuzzTimeoutMs(BLIND_RUNS, 100),
  );
});

/**
 * A wrong `v` used to be echoed with JSON.stringify(version), which recursed and threw RangeError on a
 * `v` nested a few thousand levels deep (a 10 KB body); the node agent's read loop died of it.
 */
describe('decode on a deeply nested "v"', () => {
  const deepVersionBodies: [string, string][] = [
    ['arrays 5,000 deep', `{"v":${nestedText(5000, 'array')}}`],
    ['objects 5,000 deep', `{"v":${nestedText(5000, 'object')}}`],
    ['"__proto__" objects 5,000 deep', `{"v":${nestedText(5000, 'proto')}}`],
    ['arrays as deep as the size limit allows', `{"v":${nestedText((MAX_MESSAGE_BYTES - 8) / 2, 'array')}}`],
  ];

  it.each(deepVersionBodies)('"v" holding %s is UNSUPPORTED_VERSION, not a throw', (_label, body) => {
    const bytes = utf8(body);
    expect(bytes.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    let decoded: Decoded<unknown> | undefined;
    expect(() => {
      decoded = decode(InferRequest, bytes);
    }).not.toThrow();
    expect(decoded).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_VERSION', retryable: false } });
  });
});
