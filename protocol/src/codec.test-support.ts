/** Shared helpers of the codec tests (test-only; excluded from the build). */
import { EXAMPLE_MESSAGES } from './example-messages.js';
import { MESSAGE_SCHEMAS } from './json-schema.js';

export type JsonObject = { [key: string]: unknown };
export type Body = string | Uint8Array;

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const bytesOf = (body: Body): Uint8Array => (typeof body === 'string' ? utf8(body) : body);
export const json = (value: unknown): string => JSON.stringify(value);
export const names = Object.keys(MESSAGE_SCHEMAS) as (keyof typeof MESSAGE_SCHEMAS)[];

export const infer = EXAMPLE_MESSAGES.InferRequest as JsonObject;
export const heartbeat = EXAMPLE_MESSAGES.Heartbeat as JsonObject;
export const patched = (base: JsonObject, patch: JsonObject): string => json({ ...base, ...patch });

/** A valid InferRequest body padded with trailing JSON whitespace to exactly `size` bytes. */
export function paddedInferRequest(size: number): Uint8Array {
  const text = json(infer);
  return utf8(text + ' '.repeat(size - utf8(text).byteLength));
}
