import { decodeStepMs, modelLoadMs, prefillMs } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { model, profile } from '../test-fixtures.js';
import { fastestCompletionMs, judgeFeasibility, kvCapacityTokens, type ServingShape } from './feasibility.js';

/** A reference node of the profile, model loaded, no round trip. */
function shape(profileName: string, extra: Partial<ServingShape> = {}): ServingShape {
  const p = profile(profileName);
  return {
    hardware: { profile: p, chipCount: p.referenceChipsPerNode },
    hbmTotalBytes: p.hbmBytesPerChip * p.referenceChipsPerNode,
    modelLoaded: true,
    networkMs: 0,
    ...extra,
  };
}

const SMALL = model('llama-3.1-8b');
/** Milliseconds rounded to the nanosecond, for comparing sums that differ only in rounding. */
const round = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.round(ms * 1e6) / 1e6;
const MEDIUM = model('llama-3.3-70b');
/** 96 GB of L4 less 16 GB of weights, at 128 KiB per token. */
const L4_8B_TOKENS = 610_351;

describe('kvCapacityTokens', () => {
  it.each<[name: string, shape: ServingShape, tokens: number]>([
    ['L4 node, 8B', shape('l4'), L4_8B_TOKENS],
    ['H100 node, 70B', shape('h100'), Math.floor((640e9 - 140e9) / (80 * 8 * 128 * 4))],
    ['weights larger than the node', shape('l4', { hbmTotalBytes: 10e9 }), 0],
  ])('%s → %d tokens', (_name, s, tokens) => {
    expect(kvCapacityTokens(s.hardware.profile.name === 'h100' ? MEDIUM : SMALL, s)).toBe(tokens);
  });
});

describe('fastestCompletionMs', () => {
  const hw = shape('h200').hardware;
  const alone = prefillMs(hw, SMALL, 500) + 99 * decodeStepMs(hw, SMALL, 1);
  it.each<[name: string, extra: Partial<ServingShape>, ms: number]>([
    ['idle, loaded, no round trip: prefill and decode alone', {}, alone],
    ['plus the round trip to its cluster', { networkMs: 80 }, alone + 80],
    ['plus a cold start', { modelLoaded: false }, alone + modelLoadMs(hw, SMALL)],
  ])('%s', (_name, extra, ms) => {
    expect(fastestCompletionMs(SMALL, { inputTokens: 500, maxOutputTokens: 100 }, shape('h200', extra))).toBeCloseTo(
      ms,
      9,
    );
  });
});

describe('judgeFeasibility', () => {
  const h200Fastest = fastestCompletionMs(SMALL, { inputTokens: 500, maxOutputTokens: 100 }, shape('h200'));

  it.each<{
    name: string;
    shapes: ServingShape[];
    inputTokens?: number;
    maxOutputTokens?: number;
    deadlineAfterMs?: number;
    modelName?: string;
    code?: 'INVALID_REQUEST' | 'DEADLINE_UNREACHABLE';
    fastestMs?: number;
    message?: RegExp;
    /** No shape serves the model: nothing is judged and no speed is known. */
    unjudged?: true;
  }>([
    { name: 'an empty fleet judges nothing', shapes: [], deadlineAfterMs: 1, unjudged: true },
    {
      name: 'no shape runs the model: placement decides',
      shapes: [shape('l4')],
      modelName: 'llama-3.3-70b',
      deadlineAfterMs: 1,
      unjudged: true,
    },
    { name: 'a context that just fits', shapes: [shape('l4')], inputTokens: L4_8B_TOKENS - 1, maxOutputTokens: 1 },
    {
      name: 'a context one token too large for every node',
      shapes: [shape('l4'), shape('l4', { networkMs: 5 })],
      inputTokens: L4_8B_TOKENS,
      maxOutputTokens: 1,
      code: 'INVALID_REQUEST',
      message: /610352 needs 80\.0 GB of KV cache; the largest node serving llama-3\.1-8b holds 610351 tokens/,
    },
    {
      name: 'a context only the bigger node holds: its speed counts',
      shapes: [shape('l4'), shape('h100')],
      inputTokens: 1_000_000,
      maxOutputTokens: 1,
      fastestMs: fastestCompletionMs(SMALL, { inputTokens: 1_000_000, maxOutputTokens: 1 }, shape('h100')),
    },
    {
      name: 'the fastest of several shapes',
      shapes: [shape('l4'), shape('h200'), shape('h200', { networkMs: 300 })],
      deadlineAfterMs: Math.ceil(h200Fastest),
      fastestMs: h200Fastest,
    },
    {
      name: 'a deadline just short of the fastest completion',
      shapes: [shape('l4'), shape('h200')],
      deadlineAfterMs: Math.floor(h200Fastest) - 1,
      code: 'DEADLINE_UNREACHABLE',
      message:
        /deadlineAfterMs \d+ is shorter than the fastest possible completion of 500 \+ 100 tokens of llama-3\.1-8b on any node \(\d+ ms, idle\)/,
    },
    {
      name: 'a deadline only the far cluster’s round trip breaks',
      shapes: [shape('h200', { networkMs: 400 })],
      deadlineAfterMs: Math.ceil(h200Fastest) + 100,
      code: 'DEADLINE_UNREACHABLE',
    },
    {
      name: 'a zero deadline',
      shapes: [shape('h200')],
      deadlineAfterMs: 0,
      code: 'DEADLINE_UNREACHABLE',
    },
  ])(
    '$name',
    ({ shapes, inputTokens, maxOutputTokens, deadlineAfterMs, modelName, code, fastestMs, message, unjudged }) => {
      const verdict = judgeFeasibility(
        model(modelName ?? 'llama-3.1-8b'),
        { inputTokens: inputTokens ?? 500, maxOutputTokens: maxOutputTokens ?? 100, deadlineAfterMs },
        shapes,
      );
      const seen = {
        ok: verdict.ok,
        code: verdict.ok ? undefined : verdict.code,
        messageMatches: verdict.ok ? undefined : (message?.test(verdict.message) ?? true),
        fastestKnown: verdict.ok ? verdict.fastestMs !== undefined : undefined,
        fastestMs: verdict.ok && fastestMs !== undefined ? round(verdict.fastestMs) : undefined,
      };
      expect(seen).toEqual({
        ok: code === undefined,
        code,
        messageMatches: code === undefined ? undefined : true,
        fastestKnown: code === undefined ? unjudged !== true : undefined,
        fastestMs: round(fastestMs),
      });
    },
  );
});
