/**
 * decode validates through zod's compiled fast path (z.compile). These properties hold it to the
 * interpreter it stands in for: on near-valid bodies (one field of an example replaced, removed or
 * added), decode must accept exactly what the plain schema accepts, return the same value, and
 * reject with the same message.
 */
import * as fc from 'fast-check';
import type { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { decode, describeIssues } from './codec.js';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { Heartbeat } from './messages/node.js';
import { type JsonObject, names, utf8 } from './codec.test-support.js';

type Json = unknown;
type Path = (string | number)[];

/** Paths of every value inside `value` (objects' keys and arrays' indexes), the root excluded. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => out.push([...prefix, i], ...pathsOf(item, [...prefix, i])));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) out.push([...prefix, key], ...pathsOf(item, [...prefix, key]));
  }
  return out;
}

/** Sets an own, enumerable property (even "__proto__", which plain assignment would treat as the prototype). */
function setOwn(target: JsonObject | Json[], key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

type Mutation =
  | { op: 'replace'; at: number; value: Json }
  | { op: 'delete'; at: number }
  | { op: 'add'; at: number; key: string; value: Json }
  | { op: 'grow'; at: number; length: number };

/** A deep copy of `base` with one mutation applied at the `at`-th path (modulo the number of paths). */
function mutate(base: Json, mutation: Mutation): Json {
  const copy: Json = JSON.parse(JSON.stringify(base));
  const paths = [[], ...pathsOf(copy)];
  const path = paths[mutation.at % paths.length]!;
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  let parent = copy as JsonObject | Json[];
  for (const step of parentPath) parent = (parent as JsonObject)[step as string] as JsonObject;
  const target = path.length === 0 ? copy : (parent as JsonObject)[last as string];
  switch (mutation.op) {
    case 'replace':
      if (path.length === 0) return mutation.value;
      setOwn(parent, last!, mutation.value);
      return copy;
    case 'delete':
      if (path.length === 0) return copy;
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last as string];
      return copy;
    case 'add':
      if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
        setOwn(target as JsonObject, mutation.key, mutation.value);
      }
      return copy;
    case 'grow':
      if (Array.isArray(target) && target.length > 0) {
        while (target.length < mutation.length) target.push(JSON.parse(JSON.stringify(target[0])) as Json);
      }
      return copy;
    default:
      return copy;
  }
}

/** Numbers at and just past the bounds the protocol's schemas use, and non-integers. */
const edgeNumbers = fc.constantFrom(
  0,
  -1,
  1,
  0.5,
  1.5,
  -50,
  -50.5,
  64,
  65,
  200,
  200.5,
  256,
  257,
  65_536,
  65_537,
  10_000_000,
  10_000_001,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  8_640_000_000_000_000,
  8_640_000_000_000_001,
  1e308,
  -1e308,
);
/** Strings near the protocol's patterns and enums. */
const edgeStrings = fc.constantFrom(
  '',
  'a',
  '-a',
  'a b',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(128),
  'a'.repeat(129),
  'ready',
  'draining',
  'loaded',
  'loading',
  'interactive',
  'batch',
  'llama-3.1-8b',
  'é',
);
const anyValue = fc.oneof(edgeNumbers, edgeStrings, fc.jsonValue({ maxDepth: 2 }), fc.constant(null));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: anyValue }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('add' as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra', 'v', 'name', 'state'), fc.string()),
    value: anyValue,
  }),
  fc.record({ op: fc.constant('grow' as const), at: fc.nat(), length: fc.constantFrom(2, 64, 65, 201, 1_001) }),
);

/** A decode outcome reduced to what a peer sees: the value, or the error code and (uncut part of the) message. */
type Verdict = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Messages over WireError's 2048 characters are cut; verdicts compare what both keep. */
const KEPT_CHARS = 2000;

/** decode's verdict on `body`, and the plain (interpreted) schema's, for a body that carries v: 1. */
function verdicts(schema: z.ZodType, body: Json): [decoded: Verdict, interpreted: Verdict] {
  // decode answers bodies without v: 1 before validating them; those never reach the compiled path.
  fc.pre(typeof body === 'object' && body !== null && !Array.isArray(body) && (body as JsonObject)['v'] === 1);
  // Grown arrays may pass the size limit, which is checked before validation: lift it here.
  const decoded = decode(schema, utf8(JSON.stringify(body)), Number.MAX_SAFE_INTEGER);
  const result = schema.safeParse(JSON.parse(JSON.stringify(body)));
  return [
    decoded.ok ? decoded : { ok: false, code: decoded.error.code, message: decoded.error.message.slice(0, KEPT_CHARS) },
    result.success
      ? { ok: true, value: result.data }
      : { ok: false, code: 'INVALID_REQUEST', message: describeIssues(result.error.issues).slice(0, KEPT_CHARS) },
  ];
}

function agree(schema: z.ZodType, body: Json): void {
  const [decoded, interpreted] = verdicts(schema, body);
  expect(decoded).toEqual(interpreted);
}

describe('decode agrees with the interpreted schema', () => {
  it('on Heartbeat bodies with one field replaced, removed or added', () => {
    const property = fc.property(mutation, (m) => agree(Heartbeat, mutate(EXAMPLE_MESSAGES.Heartbeat, m)));
    expect(() => fc.assert(property, { numRuns: 3_000 })).not.toThrow();
  });

  it('on Heartbeat bodies with two mutations (several issues at once)', () => {
    const property = fc.property(mutation, mutation, (a, b) =>
      agree(Heartbeat, mutate(mutate(EXAMPLE_MESSAGES.Heartbeat, a), b)),
    );
    expect(() => fc.assert(property, { numRuns: 1_000 })).not.toThrow();
  });

  it.each(names)('on %s bodies with one field replaced, removed or added', (name) => {
    const schema = MESSAGE_SCHEMAS[name] as z.ZodType;
    const property = fc.property(mutation, (m) => agree(schema, mutate(EXAMPLE_MESSAGES[name], m)));
    expect(() => fc.assert(property, { numRuns: 300 })).not.toThrow();
  });

  // The point of compiling: a valid heartbeat never reaches the interpreter (a schema change that
  // z.compile cannot model would silently fall back to it and cost ingest a factor of six).
  it('validates a valid Heartbeat without running the interpreter, and an invalid one with it', () => {
    // oxlint-disable-next-line no-underscore-dangle -- zod's interpreter entry point is what must not run
    const run = vi.spyOn(Heartbeat._zod, 'run');
    try {
      expect(decode(Heartbeat, utf8(JSON.stringify(EXAMPLE_MESSAGES.Heartbeat))).ok).toBe(true);
      expect(run).not.toHaveBeenCalled();
      const bad = decode(Heartbeat, utf8(JSON.stringify({ ...EXAMPLE_MESSAGES.Heartbeat, seq: -1 })));
      expect(bad).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^seq: /) } });
      expect(run).toHaveBeenCalled();
    } finally {
      run.mockRestore();
    }
  });
});
