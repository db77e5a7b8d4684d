import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { SUBJECT_TOKEN_PATTERN } from '../subjects.js';
import { PROTOCOL_VERSION } from '../version.js';

/** `v`: the protocol version, first field of every body. */
export const Version = z.literal(PROTOCOL_VERSION).describe('Protocol version; always 1 for this schema.');

/** An id that is embedded in subjects (node ids, tenants). */
export const SubjectToken = z
  .string()
  .regex(SUBJECT_TOKEN_PATTERN)
  .describe('1-64 characters of [A-Za-z0-9_-], starting with a letter or digit; used as a subject token.');

/** Names of models, clusters and zones. */
export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/)
  .describe('1-128 characters of [A-Za-z0-9._:/-], starting with a letter or digit.');

/** A Kubernetes object name (RFC 1123 DNS subdomain), e.g. a Node's `metadata.name`. */
export const KubernetesName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/)
  .describe(
    'A Kubernetes object name: at most 253 characters of [a-z0-9.-], each dot-separated part starting and ending with [a-z0-9].',
  );

/** Request ids and idempotency keys. */
export const RequestId = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/)
  .describe('1-200 printable ASCII characters, no spaces.');

/** Idempotency keys chosen by clients; the scheduler scopes them by tenant (`<tenant>:<key>`) to make request ids. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/)
  .describe('1-128 printable ASCII characters, no spaces.');

/** A concrete subject to publish to (no wildcards, no whitespace), e.g. a client's reply inbox. */
export const ReplySubject = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9_$:-]+(\.[A-Za-z0-9_$:-]+)*$/)
  .describe('A NATS subject without wildcards or whitespace, at most 256 characters.');

export const NonNegativeInt = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
export const EpochMs = z.int().min(0).max(8_640_000_000_000_000).describe('Milliseconds since the Unix epoch.');
export const Watts = z.number().min(0).max(10_000_000);
export const DurationMs = z
  .number()
  .min(0)
  .max(7 * 24 * 3600 * 1000);

export const ErrorCodeSchema = z.enum(ERROR_CODES);

/** The error object of every error reply. */
export const WireError = z.strictObject({
  code: ErrorCodeSchema,
  message: z.string().max(2048).describe('Human-readable; never contains credentials.'),
  retryable: z.boolean(),
  retryAfterMs: DurationMs.optional().describe('When retryable: how long to wait before retrying.'),
  requestId: RequestId.optional(),
});
export type WireError = z.infer<typeof WireError>;

/** `{ v: 1, ok: false, error }`: the shape of every error reply on every subject. */
export const ErrorReply = z.strictObject({
  v: Version,
  ok: z.literal(false),
  error: WireError,
});
export type ErrorReply = z.infer<typeof ErrorReply>;
