import { readFile } from 'node:fs/promises';
import {
  WorkloadFormatError,
  type ReadOptions,
  type ReadResult,
  type SkippedRow,
  type WorkloadRequest,
} from './workload.js';

/** Longer lines are rejected before parsing: a runaway line is a broken file, not a request. */
export const MAX_LINE_BYTES = 1024 * 1024;
export const MAX_SESSION_ID_LENGTH = 128;
export const MAX_HASH_IDS = 10_000;

/** `YYYY-MM-DD[T ]HH:MM[:SS[.fff…]]` plus a required zone; without a zone Date.parse uses local time. */
const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

type TimestampKind = 'number (ms)' | 'string (ISO-8601)';

/** A row's reason for rejection; thrown inside the reader and turned into a WorkloadFormatError or a skip. */
class BadRow extends Error {}

/**
 * Parses the generic JSONL trace format: one JSON object per line with
 * - `timestamp`: a number in **milliseconds** (epoch or relative; only differences matter), or an ISO-8601
 *   string with a zone (`2024-05-01T12:00:00.250Z`, `…+02:00`); all rows of a file use the same kind;
 * - `input_tokens`, `output_tokens`: non-negative integers;
 * - `session_id` (optional): a string of 1–128 characters;
 * - `hash_ids` (optional): at most 10,000 non-negative integers, the prompt's prefix block hashes.
 * `null` counts as absent for the optional fields; unknown fields are ignored. Blank lines are not rows.
 * Rows must be in arrival order: a row earlier than the one before it is a bad row. Arrival times are
 * relative to the first (good) row. A bad row throws `WorkloadFormatError` ("<source>:<line>: <reason>")
 * unless `skipBadRows` is set, in which case it is listed in `skipped` and left out.
 */
export function parseJsonlTrace(text: string, source = 'trace', options: ReadOptions = {}): ReadResult {
  const lines = text.split('\n');
  const requests: WorkloadRequest[] = [];
  const skipped: SkippedRow[] = [];
  let firstMs: number | undefined;
  let previousMs = -Infinity;
  let timestampKind: TimestampKind | undefined;
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    let line = lines[index] ?? '';
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.trim() === '') continue;
    try {
      const row = parseRow(line);
      if (timestampKind !== undefined && row.timestampKind !== timestampKind) {
        throw new BadRow(`timestamp is a ${row.timestampKind} but earlier rows use a ${timestampKind}`);
      }
      if (row.atMs < previousMs) {
        throw new BadRow(`timestamp goes back (${row.atMs - previousMs} ms before the previous row)`);
      }
      timestampKind = row.timestampKind;
      previousMs = row.atMs;
      firstMs ??= row.atMs;
      requests.push({ ...row.request, arrivalMs: row.atMs - firstMs });
    } catch (error) {
      if (!(error instanceof BadRow)) throw error;
      if (options.skipBadRows !== true) throw new WorkloadFormatError(source, lineNumber, error.message);
      skipped.push({ line: lineNumber, reason: error.message });
    }
  }
  return { requests, skipped };
}

/** Reads and parses a JSONL trace file; see `parseJsonlTrace`. */
export async function readJsonlTrace(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  return parseJsonlTrace(await readFile(path, 'utf8'), path, options);
}

interface ParsedRow {
  readonly atMs: number;
  readonly timestampKind: TimestampKind;
  readonly request: Omit<WorkloadRequest, 'arrivalMs'>;
}

function parseRow(rawLine: string): ParsedRow {
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  // Cheap length check first; a UTF-8 character is at most 3 bytes per UTF-16 code unit.
  if (line.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(line, 'utf8') > MAX_LINE_BYTES) {
    throw new BadRow(`line is longer than ${MAX_LINE_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new BadRow(`invalid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRow('row must be a JSON object');
  }
  const fields = value as Record<string, unknown>;
  const { atMs, kind } = parseTimestamp(fields['timestamp']);
  const inputTokens = tokenCount(fields['input_tokens'], 'input_tokens');
  const outputTokens = tokenCount(fields['output_tokens'], 'output_tokens');
  const sessionId = optionalSessionId(fields['session_id']);
  const prefixBlocks = optionalHashIds(fields['hash_ids']);
  return {
    atMs,
    timestampKind: kind,
    request: {
      inputTokens,
      outputTokens,
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(prefixBlocks === undefined ? {} : { prefixBlocks }),
    },
  };
}

function parseTimestamp(value: unknown): { atMs: number; kind: TimestampKind } {
  if (value === undefined) throw new BadRow('missing timestamp');
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new BadRow(`timestamp must be a non-negative number of ms, got ${value}`);
    return { atMs: value, kind: 'number (ms)' };
  }
  if (typeof value !== 'string')
    throw new BadRow(`timestamp must be a number (ms) or an ISO-8601 string, got ${typeName(value)}`);
  const match = ISO_TIMESTAMP.exec(value);
  if (match === null) {
    throw new BadRow(
      `timestamp ${JSON.stringify(value.slice(0, 64))} is not ISO-8601 with a zone (e.g. 2024-05-01T12:00:00.250Z)`,
    );
  }
  // The fraction is added separately so that sub-millisecond digits (traces publish up to 7) survive.
  const wholeMs = Date.parse(`${match[1]}T${match[2]}${match[4]}`);
  if (Number.isNaN(wholeMs)) throw new BadRow(`timestamp ${JSON.stringify(value)} is not a real date or time`);
  const fractionMs = match[3] === undefined ? 0 : Number(match[3]) * 1000;
  return { atMs: wholeMs + fractionMs, kind: 'string (ISO-8601)' };
}

function tokenCount(value: unknown, field: string): number {
  if (value === undefined) throw new BadRow(`missing ${field}`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new BadRow(`${field} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function optionalSessionId(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRow(`session_id must be a string, got ${typeName(value)}`);
  if (value.length < 1 || value.length > MAX_SESSION_ID_LENGTH) {
    throw new BadRow(`session_id must be 1-${MAX_SESSION_ID_LENGTH} characters, got ${value.length}`);
  }
  return value;
}

function optionalHashIds(value: unknown): readonly number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new BadRow(`hash_ids must be an array, got ${typeName(value)}`);
  if (value.length > MAX_HASH_IDS)
    throw new BadRow(`hash_ids has ${value.length} entries, at most ${MAX_HASH_IDS} allowed`);
  const blocks: number[] = [];
  for (const [position, hash] of value.entries()) {
    if (typeof hash !== 'number' || !Number.isSafeInteger(hash) || hash < 0) {
      throw new BadRow(`hash_ids[${position}] must be a non-negative integer, got ${describe(hash)}`);
    }
    blocks.push(hash);
  }
  return blocks;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeName(value);
}
