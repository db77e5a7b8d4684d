import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_HASH_IDS, MAX_LINE_BYTES, parseJsonlTrace, readJsonlTrace } from './jsonl-trace.js';
import { WorkloadFormatError } from './workload.js';

const row = (fields: Record<string, unknown>): string => JSON.stringify(fields);
const first = row({ timestamp: 1_000, input_tokens: 10, output_tokens: 2 });

function formatError(text: string): WorkloadFormatError {
  try {
    parseJsonlTrace(text, 'agents.jsonl');
  } catch (error) {
    if (error instanceof WorkloadFormatError) return error;
    throw error;
  }
  throw new Error('expected a WorkloadFormatError');
}

describe('parseJsonlTrace on a good file', () => {
  it('reads every field, ignores unknown ones and makes arrivals relative to the first row', () => {
    const text = [
      row({
        timestamp: 5_000.5,
        input_tokens: 100,
        output_tokens: 20,
        session_id: 'a',
        hash_ids: [0, 7, 9],
        model: 'x',
      }),
      '',
      row({ timestamp: 5_000.5, input_tokens: 0, output_tokens: 0, session_id: null, hash_ids: null }),
      '   ',
      row({ timestamp: 6_250, input_tokens: 3, output_tokens: 4, session_id: 'b'.repeat(128), hash_ids: [] }),
    ].join('\n');
    expect(parseJsonlTrace(text, 'good.jsonl')).toEqual({
      requests: [
        { arrivalMs: 0, inputTokens: 100, outputTokens: 20, sessionId: 'a', prefixBlocks: [0, 7, 9] },
        { arrivalMs: 0, inputTokens: 0, outputTokens: 0 },
        { arrivalMs: 1_249.5, inputTokens: 3, outputTokens: 4, sessionId: 'b'.repeat(128), prefixBlocks: [] },
      ],
      skipped: [],
    });
  });

  it('reads ISO-8601 timestamps with zones, keeping sub-millisecond digits', () => {
    const text = [
      row({ timestamp: '2024-05-01T12:00:00Z', input_tokens: 1, output_tokens: 1 }),
      row({ timestamp: '2024-05-01T12:00:00.2500001Z', input_tokens: 1, output_tokens: 1 }),
      row({ timestamp: '2024-05-01T14:00:01+02:00', input_tokens: 1, output_tokens: 1 }),
      row({ timestamp: '2024-05-01 12:01Z', input_tokens: 1, output_tokens: 1 }),
    ].join('\r\n');
    const arrivals = parseJsonlTrace(text).requests.map((request) => request.arrivalMs);
    expect(arrivals[0]).toBe(0);
    expect(arrivals[1]).toBeCloseTo(250.0001, 3);
    expect(arrivals.slice(2)).toEqual([1_000, 60_000]);
  });

  it('treats an empty file or one of blank lines as no rows', () => {
    expect(parseJsonlTrace('')).toEqual({ requests: [], skipped: [] });
    expect(parseJsonlTrace('\n\n  \n')).toEqual({ requests: [], skipped: [] });
  });

  it('reads a file from disk and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jsonl-trace-'));
    try {
      const path = join(dir, 'trace.jsonl');
      await writeFile(path, `${first}\n{"timestamp":\n`);
      await expect(readJsonlTrace(path)).rejects.toThrow(`${path}:2: invalid JSON`);
      await expect(readJsonlTrace(path, { skipBadRows: true })).resolves.toMatchObject({
        requests: [{ arrivalMs: 0, inputTokens: 10, outputTokens: 2 }],
        skipped: [{ line: 2 }],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const badRows: readonly (readonly [string, string, string])[] = [
  ['invalid JSON', '{"timestamp": 1,', 'invalid JSON'],
  ['a non-object row', '[1, 2, 3]', 'row must be a JSON object'],
  ['a null row', 'null', 'row must be a JSON object'],
  ['a missing timestamp', row({ input_tokens: 1, output_tokens: 1 }), 'missing timestamp'],
  [
    'a boolean timestamp',
    row({ timestamp: true, input_tokens: 1, output_tokens: 1 }),
    'timestamp must be a number (ms) or an ISO-8601 string, got boolean',
  ],
  [
    'a negative timestamp',
    row({ timestamp: -1, input_tokens: 1, output_tokens: 1 }),
    'timestamp must be a non-negative number of ms, got -1',
  ],
  [
    'an ISO timestamp without a zone',
    row({ timestamp: '2024-05-01T12:00:00', input_tokens: 1, output_tokens: 1 }),
    'is not ISO-8601 with a zone',
  ],
  [
    'an impossible date',
    row({ timestamp: '2024-13-45T12:00:00Z', input_tokens: 1, output_tokens: 1 }),
    'is not a real date or time',
  ],
  [
    'a timestamp that goes back',
    row({ timestamp: 999, input_tokens: 1, output_tokens: 1 }),
    'timestamp goes back (-1 ms before the previous row)',
  ],
  [
    'a switch to ISO timestamps',
    row({ timestamp: '2024-05-01T12:00:00Z', input_tokens: 1, output_tokens: 1 }),
    'timestamp is a string (ISO-8601) but earlier rows use a number (ms)',
  ],
  ['missing input_tokens', row({ timestamp: 1_000, output_tokens: 1 }), 'missing input_tokens'],
  [
    'fractional input_tokens',
    row({ timestamp: 1_000, input_tokens: 1.5, output_tokens: 1 }),
    'input_tokens must be a non-negative integer, got 1.5',
  ],
  [
    'string output_tokens',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: '7' }),
    'output_tokens must be a non-negative integer, got string',
  ],
  [
    'negative output_tokens',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: -3 }),
    'output_tokens must be a non-negative integer, got -3',
  ],
  [
    'a numeric session_id',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, session_id: 5 }),
    'session_id must be a string, got number',
  ],
  [
    'an empty session_id',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, session_id: '' }),
    'session_id must be 1-128 characters, got 0',
  ],
  [
    'a long session_id',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, session_id: 's'.repeat(129) }),
    'session_id must be 1-128 characters, got 129',
  ],
  [
    'hash_ids not an array',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, hash_ids: '1,2' }),
    'hash_ids must be an array, got string',
  ],
  [
    'a negative hash id',
    row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, hash_ids: [1, -2] }),
    'hash_ids[1] must be a non-negative integer, got -2',
  ],
  [
    'too many hash ids',
    row({
      timestamp: 1_000,
      input_tokens: 1,
      output_tokens: 1,
      hash_ids: Array.from({ length: MAX_HASH_IDS + 1 }, () => 1),
    }),
    `hash_ids has ${MAX_HASH_IDS + 1} entries, at most ${MAX_HASH_IDS} allowed`,
  ],
];

describe('parseJsonlTrace on bad rows', () => {
  it.each(badRows)('stops at %s with file:line: reason', (_kind, line, reason) => {
    const error = formatError(`${first}\n\n${line}\n${first}`);
    expect(error.code).toBe('TRACE_FORMAT');
    expect(error).toMatchObject({ file: 'agents.jsonl', line: 3 });
    expect(error.reason).toContain(reason);
    expect(error.message).toBe(`agents.jsonl:3: ${error.reason}`);
  });

  it('rejects a line over 1 MiB before parsing it', () => {
    const oversize = row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, padding: 'x'.repeat(MAX_LINE_BYTES) });
    expect(formatError(`${first}\n${oversize}`).message).toBe(
      `agents.jsonl:2: line is longer than ${MAX_LINE_BYTES} bytes`,
    );
    // Multi-byte characters count in bytes: 400k three-byte characters are 1.2 MB.
    const wide = row({ timestamp: 1_000, input_tokens: 1, output_tokens: 1, padding: '€'.repeat(400_000) });
    expect(formatError(wide).reason).toBe(`line is longer than ${MAX_LINE_BYTES} bytes`);
  });

  it('skipBadRows counts every bad row and keeps the good ones', () => {
    const lines = [
      first,
      ...badRows.map(([, line]) => line),
      row({ timestamp: 3_000, input_tokens: 5, output_tokens: 6 }),
    ];
    const result = parseJsonlTrace(lines.join('\n'), 'agents.jsonl', { skipBadRows: true });
    expect(result.requests).toEqual([
      { arrivalMs: 0, inputTokens: 10, outputTokens: 2 },
      { arrivalMs: 2_000, inputTokens: 5, outputTokens: 6 },
    ]);
    expect(result.skipped.map((skipped) => skipped.line)).toEqual(badRows.map((_, index) => index + 2));
    for (const [index, [, , reason]] of badRows.entries()) expect(result.skipped[index]?.reason).toContain(reason);
  });

  it('measures "goes back" against the last good row when skipping', () => {
    const text = [
      first,
      row({ timestamp: 9_000, input_tokens: 'x', output_tokens: 1 }),
      row({ timestamp: 2_000, input_tokens: 1, output_tokens: 1 }),
    ].join('\n');
    const result = parseJsonlTrace(text, 'f', { skipBadRows: true });
    expect(result.requests.map((request) => request.arrivalMs)).toEqual([0, 1_000]);
    expect(result.skipped).toHaveLength(1);
  });
});
