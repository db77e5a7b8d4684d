/**
 * Wire codec cost: encode and decode (size check, UTF-8, JSON.parse, version check, zod) of the two
 * hottest messages, InferRequest (every client call) and Heartbeat (every node, every second).
 */
import { createRng } from '@switchyard/fleet-model';
import {
  Heartbeat,
  InferRequest,
  PROTOCOL_VERSION,
  decode,
  encode,
  type InferRequestInput,
} from '@switchyard/protocol';
import { buildFleetFixture } from './fleet-fixture.js';
import { buildRequestMix } from './request-mix.js';
import { selected, type MicroCase, type SuiteOptions, type SuitePlan } from './runner.js';

export const CODEC_SUITE = 'codec';

/** Messages per pool, cycled through (a power of two). */
const POOL = 1024;
const PROMPT_CHARS = 8 * 1024;

/** A deterministic English-looking prompt of about `chars` characters. */
function promptText(chars: number, rng: () => number): string {
  const words = [
    'the',
    'scheduler',
    'places',
    'each',
    'request',
    'on',
    'a',
    'node',
    'with',
    'room',
    'and',
    'low',
    'latency',
  ];
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const word = words[Math.floor(rng() * words.length)] ?? 'node';
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ');
}

/** InferRequest bodies as a client SDK sends them, from the placement request mix. */
function inferRequests(seed: number, withPrompt: boolean): InferRequestInput[] {
  const rng = createRng(seed + 30);
  const prompt = withPrompt ? promptText(PROMPT_CHARS, rng) : undefined;
  return buildRequestMix(POOL, seed + 1).map((request, i) => ({
    v: PROTOCOL_VERSION,
    model: request.model.name,
    inputTokens: request.inputTokens,
    maxOutputTokens: request.maxOutputTokens,
    priority: request.priority,
    sloClass: request.sloClass,
    deadlineAfterMs: 30_000,
    idempotencyKey: `tenant-a:${seed}:${i.toString(36)}`,
    ...(prompt === undefined ? {} : { prompt }),
  }));
}

function cycleEncode(messages: readonly object[]): () => Uint8Array {
  let i = 0;
  return () => encode(messages[i++ & (POOL - 1)]!);
}

function cycleDecode(schema: typeof Heartbeat | typeof InferRequest, messages: readonly object[]): () => unknown {
  const bytes = messages.map((message) => encode(message));
  let i = 0;
  return () => {
    const decoded = decode(schema, bytes[i++ & (POOL - 1)]!);
    if (!decoded.ok) throw new Error(decoded.error.message);
    return decoded.value;
  };
}

function meanBytes(messages: readonly object[]): number {
  return Math.round(messages.reduce((sum, m) => sum + encode(m).byteLength, 0) / messages.length);
}

/** The codec suite. */
export function planCodecSuite(options: SuiteOptions): SuitePlan {
  const cases: MicroCase[] = [];
  const checks: Record<string, number | string> = {};
  const add = (name: string, fn: () => unknown): void => {
    if (selected(options, CODEC_SUITE, name)) cases.push({ suite: CODEC_SUITE, name, opsPerCall: 1, fn });
  };

  const requests = inferRequests(options.seed, false);
  const withPrompt = inferRequests(options.seed, true);
  const fixture = buildFleetFixture({ nodes: POOL, seed: options.seed, viaCodec: false });
  const rng = createRng(options.seed + 40);
  const heartbeats = fixture.nodes.map((_, i) => fixture.heartbeat(i, 2, fixture.nowMs, rng));
  checks['inferRequestBytes'] = meanBytes(requests);
  checks['inferRequestWithPromptBytes'] = meanBytes(withPrompt);
  checks['heartbeatBytes'] = meanBytes(heartbeats);

  add('encode InferRequest', cycleEncode(requests));
  add('decode InferRequest', cycleDecode(InferRequest, requests));
  add(`decode InferRequest with ${PROMPT_CHARS / 1024} KiB prompt`, cycleDecode(InferRequest, withPrompt));
  add('encode Heartbeat', cycleEncode(heartbeats));
  add('decode Heartbeat', cycleDecode(Heartbeat, heartbeats));
  return { suite: CODEC_SUITE, cases, checks };
}
