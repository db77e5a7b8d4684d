import { kvBytes } from '@switchyard/fleet-model';
import { describe, expect, it } from 'vitest';
import { addReservations, candidate, model, nodeRecord, placementRequest } from '../../../test-fixtures.js';
import { memoryFitFilter } from './memory-fit.js';

const SMALL = model('llama-3.1-8b');
const TOTAL = 100e9;
/** KV bytes of the default request: 1000 prompt + 200 output tokens. */
const KV = kvBytes(SMALL, 1200);

describe('memory-fit filter', () => {
  const filter = memoryFitFilter();

  it.each<{ name: string; loaded: boolean; usedBytes: number; reservedBytes?: number; admits: boolean }>([
    { name: 'warm, plenty of room', loaded: true, usedBytes: 20e9, admits: true },
    { name: 'warm, exactly the KV cache free', loaded: true, usedBytes: TOTAL - KV, admits: true },
    { name: 'warm, one byte short', loaded: true, usedBytes: TOTAL - KV + 1, admits: false },
    {
      name: 'cold, weights and KV exactly free',
      loaded: false,
      usedBytes: TOTAL - KV - SMALL.weightBytes,
      admits: true,
    },
    {
      name: 'cold, room for the KV cache but not the weights',
      loaded: false,
      usedBytes: TOTAL - KV - SMALL.weightBytes + 1,
      admits: false,
    },
    {
      name: 'warm, our reservations fill the rest',
      loaded: true,
      usedBytes: 50e9,
      reservedBytes: TOTAL - 50e9 - KV + 1,
      admits: false,
    },
    {
      name: 'warm, our reservations leave exactly enough',
      loaded: true,
      usedBytes: 50e9,
      reservedBytes: TOTAL - 50e9 - KV,
      admits: true,
    },
    { name: 'reported usage above total', loaded: true, usedBytes: TOTAL + 1, admits: false },
  ])('$name → $admits', ({ loaded, usedBytes, reservedBytes, admits }) => {
    const node = nodeRecord({
      profile: 'h100',
      loaded: loaded ? [SMALL.name] : [],
      hbmTotalBytes: TOTAL,
      hbmUsedBytes: usedBytes,
    });
    if (reservedBytes !== undefined) addReservations(node, 1, { kvBytes: reservedBytes });
    const request = placementRequest(SMALL.name);
    expect(filter.admits(request, candidate(node, request))).toBe(admits);
  });

  it('counts every output token the request may produce', () => {
    const node = nodeRecord({
      profile: 'h100',
      loaded: [SMALL.name],
      hbmTotalBytes: TOTAL,
      hbmUsedBytes: TOTAL - kvBytes(SMALL, 1000),
    });
    const promptOnly = placementRequest(SMALL.name, { inputTokens: 999, maxOutputTokens: 1 });
    const longAnswer = placementRequest(SMALL.name, { inputTokens: 999, maxOutputTokens: 2 });
    expect(filter.admits(promptOnly, candidate(node, promptOnly))).toBe(true);
    expect(filter.admits(longAnswer, candidate(node, longAnswer))).toBe(false);
  });

  it('rejects with NO_CAPACITY', () => {
    expect(filter).toMatchObject({ name: 'memory-fit', rejectionCode: 'NO_CAPACITY' });
  });
});
