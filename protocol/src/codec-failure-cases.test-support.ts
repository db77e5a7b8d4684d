/** The table of malformed and hostile bodies the codec tests run (test-only; excluded from the build). */
import type { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { EXAMPLE_MESSAGES } from './example-messages.js';

import { ErrorReply } from './messages/common.js';
import { Heartbeat } from './messages/node.js';
import { InferRequest, WorkResult } from './messages/inference.js';

import { type Body, heartbeat, infer, json, type JsonObject, patched } from './codec.test-support.js';

/** Malformed and hostile bodies with the code and message each must get. */
export interface FailureCase {
  name: string;
  schema: z.ZodType;
  body: Body;
  code: ErrorCode;
  /** The error message must match this: it names the field path or the problem. */
  message: RegExp;
}

export const failureCases: FailureCase[] = [
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
    body: patched(infer, { top_p: 1, logprobs: 5 }),
    code: 'INVALID_REQUEST',
    message: /Unrecognized keys: "top_p", "logprobs"/,
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
