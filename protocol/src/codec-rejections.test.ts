import * as fc from 'fast-check';
import type { z } from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decode, describeIssues } from './codec.js';
import { ERROR_CODES } from './errors.js';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { ErrorReply, WireError } from './messages/common.js';
import { Heartbeat } from './messages/node.js';
import { InferRequest } from './messages/inference.js';
import { StatusReply } from './messages/admin.js';

import { MAX_MESSAGE_BYTES } from './version.js';
import {
  bytesOf,
  heartbeat,
  infer,
  json,
  type JsonObject,
  names,
  paddedInferRequest,
  patched,
  utf8,
} from './codec.test-support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

import { failureCases } from './codec-failure-cases.test-support.js';

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
    // Every field but `v` and the optional ones is missing.
    const required = Object.values(Heartbeat.shape).filter((field) => !field.safeParse(undefined).success).length - 1;
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
