import * as fc from 'fast-check';
import type { z } from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decode, describeIssues, encode, errorReply } from './codec.js';
import { ERROR_CODES, type ErrorCode, isRetryable } from './errors.js';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { ErrorReply, WireError } from './messages/common.js';
import { Heartbeat } from './messages/node.js';
import { InferRequest, WorkResult } from './messages/inference.js';
import { StatusReply } from './messages/admin.js';
import { InferReply } from './messages/replies.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './version.js';

type JsonObject = { [key: string]: unknown };
type Body = string | Uint8Array;

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const bytesOf = (body: Body): Uint8Array => (typeof body === 'string' ? utf8(body) : body);
const json = (value: unknown): string => JSON.stringify(value);
const names = Object.keys(MESSAGE_SCHEMAS) as (keyof typeof MESSAGE_SCHEMAS)[];

const infer = EXAMPLE_MESSAGES.InferRequest as JsonObject;
const heartbeat = EXAMPLE_MESSAGES.Heartbeat as JsonObject;
const patched = (base: JsonObject, patch: JsonObject): string => json({ ...base, ...patch });

/** A valid InferRequest body padded with trailing JSON whitespace to exactly `size` bytes. */
function paddedInferRequest(size: number): Uint8Array {
  const text = json(infer);
  return utf8(text + ' '.repeat(size - utf8(text).byteLength));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('decode: every message kind round-trips through encode', () => {
  it.each(names)('%s', (name) => {
    const schema: z.ZodType = MESSAGE_SCHEMAS[name];
    const decoded = decode(schema, encode(EXAMPLE_MESSAGES[name]));
    expect(decoded).toEqual({ ok: true, value: schema.parse(EXAMPLE_MESSAGES[name]) });
    // Decoding our own encoding of a decoded value is the identity.
    if (!decoded.ok) return;
    expect(decode(schema, encode(decoded.value as object))).toEqual(decoded);
  });

  it.each([
    ['InferResult', EXAMPLE_MESSAGES.InferResult],
    ['ErrorReply', EXAMPLE_MESSAGES.ErrorReply],
  ] as const)('InferReply (the union a client receives) accepts an %s', (_kind, body) => {
    expect(decode(InferReply, encode(body))).toEqual({ ok: true, value: body });
  });

  it('applies defaults for omitted optional fields', () => {
    const decoded = decode(InferRequest, utf8('{"v":1,"model":"llama-3.1-8b","inputTokens":10,"maxOutputTokens":20}'));
    expect(decoded).toEqual({
      ok: true,
      value: {
        v: 1,
        model: 'llama-3.1-8b',
        inputTokens: 10,
        maxOutputTokens: 20,
        priority: 'normal',
        sloClass: 'interactive',
      },
    });
  });

  it('accepts multi-byte UTF-8 text and insignificant whitespace', () => {
    const body = `\n {"v": 1, "nodeId": "n1", "incarnation": "i1", "reason": "Wartung – 🔧 geplant"}\t\r\n`;
    expect(decode(MESSAGE_SCHEMAS.Deregistration, utf8(body))).toMatchObject({
      ok: true,
      value: { reason: 'Wartung – 🔧 geplant' },
    });
  });
});

interface FailureCase {
  name: string;
  schema: z.ZodType;
  body: Body;
  code: ErrorCode;
  /** The error message must match this: it names the field path or the problem. */
  message: RegExp;
}

const failureCases: FailureCase[] = [
  // Malformed bodies.
  { name: 'empty body', schema: InferRequest, body: '', code: 'INVALID_REQUEST', message: /^body is empty/ },
  { name: 'whitespace only', schema: InferRequest, body: '  \n', code: 'INVALID_REQUEST', message: /not valid JSON/ },
  { name: 'truncated JSON', schema: InferRequest, body: '{"v":1,', code: 'INVALID_REQUEST', message: /not valid JSON/ },
  {
    name: 'trailing garbage',
    schema: InferRequest,
    body: '{"v":1} x',
    code: 'INVALID_REQUEST',
    message: /not valid JSON/,
  },
  { name: 'single quotes', schema: InferRequest, body: "{'v':1}", code: 'INVALID_REQUEST', message: /not valid JSON/ },
  { name: 'NaN literal', schema: InferRequest, body: '{"v":NaN}', code: 'INVALID_REQUEST', message: /not valid JSON/ },
  {
    name: 'two objects',
    schema: InferRequest,
    body: '{"v":1}{"v":1}',
    code: 'INVALID_REQUEST',
    message: /not valid JSON/,
  },

  // Valid JSON that is not an object.
  { name: 'array', schema: InferRequest, body: '[]', code: 'INVALID_REQUEST', message: /must be a JSON object/ },
  {
    name: 'array of a valid body',
    schema: InferRequest,
    body: `[${json(infer)}]`,
    code: 'INVALID_REQUEST',
    message: /must be a JSON object/,
  },
  { name: 'null', schema: InferRequest, body: 'null', code: 'INVALID_REQUEST', message: /must be a JSON object/ },
  { name: 'number', schema: InferRequest, body: '1', code: 'INVALID_REQUEST', message: /must be a JSON object/ },
  {
    name: 'string',
    schema: InferRequest,
    body: '"{\\"v\\":1}"',
    code: 'INVALID_REQUEST',
    message: /must be a JSON object/,
  },
  { name: 'boolean', schema: InferRequest, body: 'true', code: 'INVALID_REQUEST', message: /must be a JSON object/ },

  // The version field, checked before the schema.
  {
    name: 'missing v',
    schema: InferRequest,
    body: patched(infer, { v: undefined }),
    code: 'INVALID_REQUEST',
    message: /missing protocol version field "v"/,
  },
  {
    name: 'empty object',
    schema: InferRequest,
    body: '{}',
    code: 'INVALID_REQUEST',
    message: /missing protocol version field "v"/,
  },
  {
    name: 'v: 2',
    schema: InferRequest,
    body: patched(infer, { v: 2 }),
    code: 'UNSUPPORTED_VERSION',
    message: /^protocol version 2 is not supported; this server speaks v1$/,
  },
  {
    name: 'v: 0',
    schema: InferRequest,
    body: patched(infer, { v: 0 }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version 0/,
  },
  {
    name: 'v: "1" (a string is not the number 1)',
    schema: InferRequest,
    body: patched(infer, { v: '1' }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version "1"/,
  },
  {
    name: 'v: 1.5',
    schema: InferRequest,
    body: patched(infer, { v: 1.5 }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version 1\.5/,
  },
  {
    name: 'v: null',
    schema: InferRequest,
    body: patched(infer, { v: null }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version null/,
  },
  {
    name: 'v: true',
    schema: InferRequest,
    body: patched(infer, { v: true }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version true/,
  },
  {
    name: 'v: 2 with fields v1 does not know (version wins over schema)',
    schema: InferRequest,
    body: patched(infer, { v: 2, stream: true }),
    code: 'UNSUPPORTED_VERSION',
    message: /protocol version 2/,
  },

  // Wrong types.
  {
    name: 'model is a number',
    schema: InferRequest,
    body: patched(infer, { model: 7 }),
    code: 'INVALID_REQUEST',
    message: /^model: .*expected string/,
  },
  {
    name: 'inputTokens is a numeric string',
    schema: InferRequest,
    body: patched(infer, { inputTokens: '812' }),
    code: 'INVALID_REQUEST',
    message: /^inputTokens: .*expected number/,
  },
  {
    name: 'priority outside the enum',
    schema: InferRequest,
    body: patched(infer, { priority: 'urgent' }),
    code: 'INVALID_REQUEST',
    message: /^priority: /,
  },
  {
    name: 'prompt is null',
    schema: InferRequest,
    body: patched(infer, { prompt: null }),
    code: 'INVALID_REQUEST',
    message: /^prompt: /,
  },
  {
    name: 'accelerator is an array',
    schema: Heartbeat,
    body: patched(heartbeat, { accelerator: [] }),
    code: 'INVALID_REQUEST',
    message: /^accelerator: .*expected object/,
  },
  {
    name: 'ok is the string "true"',
    schema: WorkResult,
    body: patched(EXAMPLE_MESSAGES.WorkResult, { ok: 'true' }),
    code: 'INVALID_REQUEST',
    message: /^ok: .*expected boolean/,
  },
  {
    name: 'model name with a space',
    schema: InferRequest,
    body: patched(infer, { model: 'llama 3' }),
    code: 'INVALID_REQUEST',
    message: /^model: /,
  },
  {
    name: 'nodeId with a dot (would split the subject)',
    schema: Heartbeat,
    body: patched(heartbeat, { nodeId: 'a.b' }),
    code: 'INVALID_REQUEST',
    message: /^nodeId: /,
  },
  {
    name: 'requestId with a space',
    schema: WorkResult,
    body: patched(EXAMPLE_MESSAGES.WorkResult, { requestId: 'a b' }),
    code: 'INVALID_REQUEST',
    message: /^requestId: /,
  },

  // Unknown fields: every object is strict.
  {
    name: 'unknown top-level field',
    schema: InferRequest,
    body: patched(infer, { temperature: 0.7 }),
    code: 'INVALID_REQUEST',
    message: /^\(body\): Unrecognized key: "temperature"$/,
  },
  {
    name: 'two unknown fields',
    schema: InferRequest,
    body: patched(infer, { top_p: 1, stream: true }),
    code: 'INVALID_REQUEST',
    message: /Unrecognized keys: "top_p", "stream"/,
  },
  {
    name: 'unknown nested field',
    schema: Heartbeat,
    body: patched(heartbeat, { accelerator: { ...(heartbeat['accelerator'] as JsonObject), vendor: 'aws' } }),
    code: 'INVALID_REQUEST',
    message: /^accelerator: Unrecognized key: "vendor"$/,
  },
  {
    name: 'unknown field in an array element',
    schema: Heartbeat,
    body: patched(heartbeat, { models: [{ name: 'm', state: 'loaded', pinned: true }] }),
    code: 'INVALID_REQUEST',
    message: /^models\.0: Unrecognized key: "pinned"$/,
  },

  // Prototype keys are unknown fields like any other.
  {
    name: '__proto__ at top level',
    schema: InferRequest,
    body: `{"v":1,"model":"m","inputTokens":1,"maxOutputTokens":1,"__proto__":{"polluted":true}}`,
    code: 'INVALID_REQUEST',
    message: /Unrecognized key: "__proto__"/,
  },
  {
    name: 'constructor at top level',
    schema: InferRequest,
    body: `{"v":1,"model":"m","inputTokens":1,"maxOutputTokens":1,"constructor":{"prototype":{"polluted":true}}}`,
    code: 'INVALID_REQUEST',
    message: /Unrecognized key: "constructor"/,
  },
  {
    name: 'prototype at top level',
    schema: InferRequest,
    body: `{"v":1,"model":"m","inputTokens":1,"maxOutputTokens":1,"prototype":{"polluted":true}}`,
    code: 'INVALID_REQUEST',
    message: /Unrecognized key: "prototype"/,
  },
  {
    name: '__proto__ nested',
    schema: Heartbeat,
    body: json(heartbeat).replace('"accelerator":{', '"accelerator":{"__proto__":{"polluted":true},'),
    code: 'INVALID_REQUEST',
    message: /^accelerator: Unrecognized key: "__proto__"/,
  },

  // Numbers out of range.
  {
    name: 'negative inputTokens',
    schema: InferRequest,
    body: patched(infer, { inputTokens: -1 }),
    code: 'INVALID_REQUEST',
    message: /^inputTokens: Too small/,
  },
  {
    name: 'zero maxOutputTokens',
    schema: InferRequest,
    body: patched(infer, { maxOutputTokens: 0 }),
    code: 'INVALID_REQUEST',
    message: /^maxOutputTokens: Too small/,
  },
  {
    name: 'inputTokens above 2,000,000',
    schema: InferRequest,
    body: patched(infer, { inputTokens: 2_000_001 }),
    code: 'INVALID_REQUEST',
    message: /^inputTokens: Too big/,
  },
  {
    name: 'inputTokens 1e308',
    schema: InferRequest,
    body: patched(infer, { inputTokens: 1e308 }),
    code: 'INVALID_REQUEST',
    message: /^inputTokens: Too big/,
  },
  {
    name: 'non-integer inputTokens',
    schema: InferRequest,
    body: patched(infer, { inputTokens: 812.5 }),
    code: 'INVALID_REQUEST',
    message: /^inputTokens: .*expected int/,
  },
  {
    name: 'deadlineAfterMs 1e308',
    schema: InferRequest,
    body: patched(infer, { deadlineAfterMs: 1e308 }),
    code: 'INVALID_REQUEST',
    message: /^deadlineAfterMs: Too big/,
  },
  {
    name: 'deadlineAfterMs 1e400 (parses to Infinity)',
    schema: InferRequest,
    body: json(infer).replace('"deadlineAfterMs":30000', '"deadlineAfterMs":1e400'),
    code: 'INVALID_REQUEST',
    message: /^deadlineAfterMs: .*Infinity/,
  },
  {
    name: 'negative deadlineAfterMs',
    schema: InferRequest,
    body: patched(infer, { deadlineAfterMs: -5 }),
    code: 'INVALID_REQUEST',
    message: /^deadlineAfterMs: Too small/,
  },
  {
    name: 'seq beyond 2^53 - 1',
    schema: Heartbeat,
    body: json(heartbeat).replace('"seq":42', '"seq":9007199254740993'),
    code: 'INVALID_REQUEST',
    message: /^seq: /,
  },
  {
    name: 'non-integer seq',
    schema: Heartbeat,
    body: patched(heartbeat, { seq: 1.5 }),
    code: 'INVALID_REQUEST',
    message: /^seq: /,
  },
  {
    name: 'negative sentAtMs',
    schema: Heartbeat,
    body: patched(heartbeat, { sentAtMs: -1 }),
    code: 'INVALID_REQUEST',
    message: /^sentAtMs: /,
  },
  {
    name: 'temperature above 200 °C',
    schema: Heartbeat,
    body: patched(heartbeat, { temperatureC: 250 }),
    code: 'INVALID_REQUEST',
    message: /^temperatureC: Too big/,
  },
  {
    name: 'accelerator.count 0',
    schema: Heartbeat,
    body: patched(heartbeat, { accelerator: { ...(heartbeat['accelerator'] as JsonObject), count: 0 } }),
    code: 'INVALID_REQUEST',
    message: /^accelerator\.count: Too small/,
  },
  {
    name: 'attempt 17',
    schema: WorkResult,
    body: patched(EXAMPLE_MESSAGES.WorkResult, { attempt: 17 }),
    code: 'INVALID_REQUEST',
    message: /^attempt: Too big/,
  },
  {
    name: 'negative energy',
    schema: WorkResult,
    body: patched(EXAMPLE_MESSAGES.WorkResult, { energyJoules: -0.5 }),
    code: 'INVALID_REQUEST',
    message: /^energyJoules: Too small/,
  },

  // Paths into nested objects and arrays.
  {
    name: 'bad nested enum in an array',
    schema: Heartbeat,
    body: patched(heartbeat, {
      models: [
        { name: 'a', state: 'loaded' },
        { name: 'b', state: 'warm' },
      ],
    }),
    code: 'INVALID_REQUEST',
    message: /^models\.1\.state: /,
  },
  {
    name: 'bad nested number',
    schema: WorkResult,
    body: patched(EXAMPLE_MESSAGES.WorkResult, { timings: { queueMs: 0, loadMs: 0, ttftMs: -1, totalMs: 1 } }),
    code: 'INVALID_REQUEST',
    message: /^timings\.ttftMs: Too small/,
  },
  {
    name: 'bad code inside an error reply',
    schema: ErrorReply,
    body: json({ v: 1, ok: false, error: { code: 'TEAPOT', message: 'x', retryable: false } }),
    code: 'INVALID_REQUEST',
    message: /^error\.code: /,
  },
  {
    name: 'missing required field',
    schema: InferRequest,
    body: json({ v: 1, model: 'm', inputTokens: 1 }),
    code: 'INVALID_REQUEST',
    message: /^maxOutputTokens: .*received undefined/,
  },
];

describe('decode: rejections', () => {
  it.each(failureCases)('$name → $code', ({ schema, body, code, message }) => {
    const decoded = decode(schema, bytesOf(body));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.code).toBe(code);
    expect(decoded.error.message).toMatch(message);
    expect(decoded.error.retryable).toBe(false);
    // Every error decode produces can be sent back as a valid ErrorReply.
    expect(ErrorReply.safeParse({ v: 1, ok: false, error: decoded.error }).success).toBe(true);
  });
});

describe('decode: invalid UTF-8', () => {
  const prefix = [...utf8('{"v":1,"nodeId":"')];
  const suffix = [...utf8('"}')];
  it.each([
    ['a stray continuation byte', [0x80]],
    ['0xff', [0xff]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded in UTF-8 (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ])('%s → INVALID_REQUEST', (_label, bad) => {
    const decoded = decode(MESSAGE_SCHEMAS.NodeCommand, new Uint8Array([...prefix, ...bad, ...suffix]));
    expect(decoded).toEqual({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'body is not valid UTF-8', retryable: false },
    });
  });

  it('is checked after the size limit and before JSON parsing', () => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(decode(InferRequest, new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ ok: false });
    expect(parse).not.toHaveBeenCalled();
  });
});

describe('decode: size limit', () => {
  it('refuses a body one byte over MAX_MESSAGE_BYTES with PAYLOAD_TOO_LARGE, without decoding it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const body = new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0xff); // not even UTF-8
    expect(decode(InferRequest, body)).toEqual({
      ok: false,
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `body is ${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES}`,
        retryable: false,
      },
    });
    expect(parse).not.toHaveBeenCalled();
  });

  it('accepts a valid body of exactly MAX_MESSAGE_BYTES', () => {
    const body = paddedInferRequest(MAX_MESSAGE_BYTES);
    expect(body.byteLength).toBe(MAX_MESSAGE_BYTES);
    expect(decode(InferRequest, body)).toMatchObject({ ok: true, value: { model: infer['model'] } });
    expect(decode(InferRequest, paddedInferRequest(MAX_MESSAGE_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
  });

  it('counts bytes, not characters', () => {
    // 100,000 three-byte characters: 100k UTF-16 units (within prompt's 200k), ~300 KB on the wire.
    const body = utf8(patched(infer, { prompt: '€'.repeat(100_000) }));
    expect(body.byteLength).toBeGreaterThan(MAX_MESSAGE_BYTES);
    expect(decode(InferRequest, body)).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('honours a caller-supplied limit', () => {
    const body = utf8(json(infer));
    expect(decode(InferRequest, body, body.byteLength)).toMatchObject({ ok: true });
    expect(decode(InferRequest, body, body.byteLength - 1)).toMatchObject({
      ok: false,
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `body is ${body.byteLength} bytes; the limit is ${body.byteLength - 1}`,
      },
    });
  });
});

const pollutionProbe = (): unknown => (Object.prototype as JsonObject)['polluted'];

describe('decode: prototype pollution', () => {
  it('never pollutes Object.prototype, whatever the key or nesting', () => {
    const bodies = [
      '{"__proto__":{"polluted":true},"v":1}',
      '{"v":1,"constructor":{"prototype":{"polluted":true}}}',
      json(heartbeat).replace('"accelerator":{', '"accelerator":{"__proto__":{"polluted":true},'),
      json(EXAMPLE_MESSAGES.StatusReply).replace('"counters":{', '"counters":{"__proto__":{"polluted":true},'),
      json(EXAMPLE_MESSAGES.StatusReply).replace('"counters":{', '"counters":{"__proto__":7,'),
    ];
    for (const body of bodies) decode(MESSAGE_SCHEMAS.StatusReply, utf8(body));
    for (const body of bodies) decode(Heartbeat, utf8(body));
    expect(pollutionProbe()).toBeUndefined();
    expect(({} as JsonObject)['polluted']).toBeUndefined();
  });

  it('does not read v through the prototype chain', () => {
    expect(decode(InferRequest, utf8('{"__proto__":{"v":1}}'))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'missing protocol version field "v"' },
    });
  });

  // zod skips "__proto__" in records (StatusReply.counters) instead of validating or copying it: the
  // body is accepted without that key, and the decoded record keeps Object.prototype.
  it.each([
    ['an object', '{"polluted":true}'],
    ['a number', '7'],
  ])('drops a "__proto__" key holding %s from a record', (_label, value) => {
    const body = json(EXAMPLE_MESSAGES.StatusReply).replace('"counters":{', `"counters":{"__proto__":${value},`);
    const decoded = decode(StatusReply, utf8(body));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(Object.getPrototypeOf(decoded.value.counters)).toBe(Object.prototype);
    expect(Object.keys(decoded.value.counters)).toEqual(Object.keys(EXAMPLE_MESSAGES.StatusReply.counters));
    expect(pollutionProbe()).toBeUndefined();
  });
});

describe('decode: error messages', () => {
  it('name at most five issues and count the rest', () => {
    const decoded = decode(Heartbeat, utf8('{"v":1}'));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    const required = Object.keys(Heartbeat.shape).length - 1; // all but v
    expect(decoded.error.message).toMatch(/^nodeId: .*; incarnation: .*; seq: .*; sentAtMs: .*; cluster: .*/);
    expect(decoded.error.message.endsWith(`; and ${required - 5} more`)).toBe(true);
  });

  it('fit in WireError.message even when the body is hostile', () => {
    const hostile = [
      json({ v: 'x'.repeat(200_000) }),
      json({ v: Array.from({ length: 5000 }, (_, i) => i) }),
      json({ v: 1, ...Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`unknown_field_${i}`, i])) }),
      json({ v: 1, ['k'.repeat(10_000)]: 1 }),
    ];
    for (const body of hostile) {
      const decoded = decode(InferRequest, utf8(body));
      expect(decoded.ok).toBe(false);
      if (decoded.ok) continue;
      expect(decoded.error.message.length).toBeLessThanOrEqual(2048);
      expect(WireError.safeParse(decoded.error).error?.issues ?? []).toEqual([]);
    }
  });

  it('describeIssues says (body) for issues without a path', () => {
    expect(describeIssues([{ code: 'custom', message: 'boom', path: [], input: undefined }])).toBe('(body): boom');
    expect(describeIssues([{ code: 'custom', message: 'bad', path: ['nodes', 3, 'state'], input: undefined }])).toBe(
      'nodes.3.state: bad',
    );
  });
});

describe('decode: never throws', () => {
  const schemas = names.map((name) => MESSAGE_SCHEMAS[name] as z.ZodType);

  it('on arbitrary bytes', () => {
    const property = fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...schemas), (bytes, schema) => {
      const decoded = decode(schema, bytes);
      return decoded.ok || ERROR_CODES.includes(decoded.error.code);
    });
    expect(() => fc.assert(property, { numRuns: 500 })).not.toThrow();
  });

  it('on arbitrary JSON values, with and without v: 1; every failure is a valid WireError', () => {
    const property = fc.property(fc.jsonValue(), fc.boolean(), fc.constantFrom(...schemas), (value, stamp, schema) => {
      const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
      const decoded = decode(schema, utf8(JSON.stringify(stamp && isObject ? { ...value, v: 1 } : value)));
      return decoded.ok || WireError.safeParse(decoded.error).success;
    });
    expect(() => fc.assert(property, { numRuns: 500 })).not.toThrow();
  });
});

describe('encode', () => {
  it('produces UTF-8 JSON', () => {
    const bytes = encode({ v: 1, reason: 'Grüße 🔧' });
    expect(new TextDecoder().decode(bytes)).toBe('{"v":1,"reason":"Grüße 🔧"}');
    expect(bytes.byteLength).toBe(utf8('{"v":1,"reason":"Grüße 🔧"}').byteLength);
  });

  it('omits undefined optional fields', () => {
    expect(new TextDecoder().decode(encode({ v: 1, requestId: undefined }))).toBe('{"v":1}');
  });

  it('allows exactly MAX_MESSAGE_BYTES and throws RangeError one byte past it', () => {
    const overhead = utf8(json({ v: 1, pad: '' })).byteLength;
    const atLimit = { v: 1, pad: 'x'.repeat(MAX_MESSAGE_BYTES - overhead) };
    expect(encode(atLimit).byteLength).toBe(MAX_MESSAGE_BYTES);
    const over = { v: 1, pad: 'x'.repeat(MAX_MESSAGE_BYTES - overhead + 1) };
    expect(() => encode(over)).toThrow(RangeError);
    expect(() => encode(over)).toThrow(
      `refusing to send a ${MAX_MESSAGE_BYTES + 1}-byte message; the limit is ${MAX_MESSAGE_BYTES}`,
    );
  });

  it('counts bytes, not characters, and honours a caller-supplied limit', () => {
    expect(() => encode({ s: '€€€' }, 16)).toThrow(RangeError); // {"s":"€€€"} is 17 bytes
    expect(encode({ s: '€€€' }, 17).byteLength).toBe(17);
  });
});

describe('errorReply', () => {
  const retryable = new Set<ErrorCode>(['NO_CAPACITY', 'NODE_LOST', 'NODE_DRAINING', 'OVERLOADED']);

  it.each(ERROR_CODES.map((code) => [code, retryable.has(code)] as const))('%s → retryable: %s', (code, expected) => {
    const reply = errorReply(code, `failed with ${code}`);
    expect(reply).toEqual({
      v: PROTOCOL_VERSION,
      ok: false,
      error: { code, message: `failed with ${code}`, retryable: expected },
    });
    expect(isRetryable(code)).toBe(expected);
    expect(ErrorReply.parse(reply)).toEqual(reply);
  });

  it('lets the caller override retryable', () => {
    expect(errorReply('INTERNAL', 'transient', { retryable: true }).error.retryable).toBe(true);
    expect(errorReply('NO_CAPACITY', 'never fits', { retryable: false }).error.retryable).toBe(false);
  });

  it('adds requestId and retryAfterMs only when given', () => {
    const bare = errorReply('OVERLOADED', 'busy');
    expect(Object.keys(bare.error)).toEqual(['code', 'message', 'retryable']);
    const full = errorReply('OVERLOADED', 'busy', { requestId: 'acme-1', retryAfterMs: 500 });
    expect(full.error).toEqual({
      code: 'OVERLOADED',
      message: 'busy',
      retryable: true,
      retryAfterMs: 500,
      requestId: 'acme-1',
    });
  });

  it('round-trips through encode and decode as an InferReply', () => {
    const reply = errorReply('NODE_LOST', 'node trn2-fra1-0007 stopped answering', { requestId: 'acme-1' });
    expect(decode(InferReply, encode(reply))).toEqual({ ok: true, value: reply });
  });

  it('cuts a message longer than WireError allows, without splitting a surrogate pair', () => {
    const long = errorReply('INTERNAL', 'a'.repeat(2046) + '🔧'.repeat(10));
    expect(long.error.message.length).toBeLessThanOrEqual(2048);
    expect(long.error.message.endsWith('…')).toBe(true);
    expect(long.error.message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(ErrorReply.safeParse(long).success).toBe(true);
    expect(errorReply('INTERNAL', 'b'.repeat(2048)).error.message).toBe('b'.repeat(2048));
  });
});
