import type { z } from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decode, encode, errorReply } from './codec.js';
import { ERROR_CODES, type ErrorCode, isRetryable } from './errors.js';
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';
import { ErrorReply } from './messages/common.js';

import { InferRequest } from './messages/inference.js';

import { InferReply } from './messages/replies.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './version.js';
import { json, names, utf8 } from './codec.test-support.js';

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
  const retryable = new Set<ErrorCode>([
    'NO_CAPACITY',
    'NODE_LOST',
    'NODE_DRAINING',
    'OVERLOADED',
    'NOT_OWNER',
    'RATE_LIMITED',
  ]);

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
