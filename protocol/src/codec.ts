import { z } from 'zod';
import { type ErrorCode, isRetryable } from './errors.js';
import type { ErrorReply, WireError } from './messages/common.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './version.js';

/** Outcome of decoding one message: the typed value, or a wire error ready to send back. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: WireError };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Each schema's compiled clone (zod's own AOT compiler, `z.compile`), made on first decode. The
 * clone runs a generated straight-line validator on valid input — about 6× faster than zod's
 * interpreter on a heartbeat, whose validation was 60 % of decode and a third of ingest time — and
 * hands any input that validator rejects to the original schema, so issues and messages are zod's
 * own. (A refinement would run twice on invalid input; the protocol's schemas have none.)
 */
const compiledSchemas = new WeakMap<z.ZodType, z.ZodType>();

function compiled<S extends z.ZodType>(schema: S): S {
  let fast = compiledSchemas.get(schema) as S | undefined;
  if (fast === undefined) {
    // Never throws: a schema the compiler cannot model comes back as it was.
    fast = z.compile(schema);
    compiledSchemas.set(schema, fast);
  }
  return fast;
}

/** WireError.message's maxLength. Longer messages are cut so that every error we build passes ErrorReply. */
const MAX_ERROR_MESSAGE_CHARS = 2048;

/** `message` cut to MAX_ERROR_MESSAGE_CHARS UTF-16 units, ending in "…" when cut; never splits a surrogate pair. */
function clampMessage(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE_CHARS) return message;
  let end = MAX_ERROR_MESSAGE_CHARS - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${message.slice(0, end)}…`;
}

function failure(code: ErrorCode, message: string): { ok: false; error: WireError } {
  return { ok: false, error: { code, message: clampMessage(message), retryable: false } };
}

/** Renders zod issues as one line a human can act on: where, and what was wrong. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
      return `${where}: ${issue.message}`;
    })
    .join('; ')
    .concat(issues.length > 5 ? `; and ${issues.length - 5} more` : '');
}

/**
 * The `v` a client sent, for an error message: a number or a short string as written, anything else
 * by its kind. Never serialised whole: a deeply nested value would overflow the stack, a long one
 * bloat the reply.
 */
function describeVersion(version: unknown): string {
  if (typeof version === 'number' || typeof version === 'boolean') return String(version);
  if (typeof version === 'string') {
    return JSON.stringify(version.length > 32 ? `${version.slice(0, 32)}…` : version);
  }
  if (version === null) return 'null';
  return Array.isArray(version) ? 'an array' : 'an object';
}

/**
 * Decodes and validates one message body. Never throws: every failure becomes a typed error with a
 * code (PAYLOAD_TOO_LARGE, INVALID_REQUEST, UNSUPPORTED_VERSION) and a message naming the problem.
 * Order matters: size before parsing (bounded work), version before schema (a v2 body should be
 * told it is v2, not that it has unknown fields).
 */
export function decode<S extends z.ZodType>(
  schema: S,
  data: Uint8Array,
  maxBytes: number = MAX_MESSAGE_BYTES,
): Decoded<z.output<S>> {
  if (data.byteLength > maxBytes) {
    return failure('PAYLOAD_TOO_LARGE', `body is ${data.byteLength} bytes; the limit is ${maxBytes}`);
  }
  if (data.byteLength === 0) return failure('INVALID_REQUEST', 'body is empty; expected a JSON object');
  let text: string;
  try {
    text = utf8Decoder.decode(data);
  } catch {
    return failure('INVALID_REQUEST', 'body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return failure('INVALID_REQUEST', `body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return failure('INVALID_REQUEST', 'body must be a JSON object');
  }
  const version: unknown = 'v' in parsed ? parsed.v : undefined;
  if (version === undefined) return failure('INVALID_REQUEST', 'missing protocol version field "v"');
  if (version !== PROTOCOL_VERSION) {
    return failure(
      'UNSUPPORTED_VERSION',
      `protocol version ${describeVersion(version)} is not supported; this server speaks v${PROTOCOL_VERSION}`,
    );
  }
  const result = compiled(schema).safeParse(parsed);
  if (!result.success) return failure('INVALID_REQUEST', describeIssues(result.error.issues));
  return { ok: true, value: result.data };
}

/** Serialises a message. Throws if it would exceed the limit: that is our bug, not the peer's. */
export function encode(message: object, maxBytes: number = MAX_MESSAGE_BYTES): Uint8Array {
  const bytes = utf8Encoder.encode(JSON.stringify(message));
  if (bytes.byteLength > maxBytes) {
    throw new RangeError(`refusing to send a ${bytes.byteLength}-byte message; the limit is ${maxBytes}`);
  }
  return bytes;
}

/** Builds an error reply body. `retryable` follows the code unless overridden; `message` is cut to 2048 characters. */
export function errorReply(
  code: ErrorCode,
  message: string,
  extra: { requestId?: string; retryAfterMs?: number; retryable?: boolean } = {},
): ErrorReply {
  const error: WireError = { code, message: clampMessage(message), retryable: extra.retryable ?? isRetryable(code) };
  if (extra.retryAfterMs !== undefined) error.retryAfterMs = extra.retryAfterMs;
  if (extra.requestId !== undefined) error.requestId = extra.requestId;
  return { v: PROTOCOL_VERSION, ok: false, error };
}
