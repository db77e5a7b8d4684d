import { readFile } from 'node:fs/promises';
import type { ReadOptions, SkippedRow } from './workload.js';

/** One request of a trace: when it arrived (ms from the trace's first request) and its token counts. */
export interface TraceRequest {
  readonly arrivalMs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** A trace file that does not have the documented shape. */
export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError';
}

const HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens';

export interface AzureTraceOptions extends ReadOptions {
  /** Told about each row left out under `skipBadRows` (1-based line number and reason). */
  readonly onSkippedRow?: (row: SkippedRow) => void;
}

/**
 * Parses the Azure LLM inference trace CSV (Azure Public Dataset, AzureLLMInferenceTrace_{code,conv},
 * CC-BY-4.0): header `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps `YYYY-MM-DD HH:MM:SS.fffffff`
 * (UTC wall clock, 7 decimals), ContextTokens = prompt length, GeneratedTokens = output length.
 * Rows with zero output tokens are kept with outputTokens 0; callers decide. Arrival times are
 * relative to the first (kept) row. A malformed row throws `TraceFormatError` ("<source>:<line>: <reason>")
 * unless `options.skipBadRows` is set; then it is left out and reported to `options.onSkippedRow`. A bad
 * header always throws.
 */
export function parseAzureTrace(csv: string, source = 'trace', options: AzureTraceOptions = {}): TraceRequest[] {
  const lines = csv.split(/\r?\n/);
  if (lines[0]?.trim() !== HEADER) {
    throw new TraceFormatError(`${source}: expected header "${HEADER}", got "${lines[0]?.slice(0, 80) ?? ''}"`);
  }
  const out: TraceRequest[] = [];
  let firstMs: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]?.trim();
    if (line === undefined || line === '') continue;
    const row = parseRow(line);
    if (typeof row === 'string') {
      if (options.skipBadRows !== true) throw new TraceFormatError(`${source}:${i + 1}: ${row}`);
      options.onSkippedRow?.({ line: i + 1, reason: row });
      continue;
    }
    firstMs ??= row.atMs;
    out.push({ arrivalMs: row.atMs - firstMs, inputTokens: row.inputTokens, outputTokens: row.outputTokens });
  }
  return out;
}

/** Reads and parses an Azure trace file; see `parseAzureTrace` for the options. */
export async function readAzureTrace(path: string, options: AzureTraceOptions = {}): Promise<TraceRequest[]> {
  return parseAzureTrace(await readFile(path, 'utf8'), path, options);
}

/** One data row's absolute time and token counts, or the reason it is malformed. */
function parseRow(line: string): { atMs: number; inputTokens: number; outputTokens: number } | string {
  const [stamp, context, generated, extra] = line.split(',');
  if (stamp === undefined || context === undefined || generated === undefined || extra !== undefined) {
    return 'expected 3 columns';
  }
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(stamp);
  if (match === null) return `bad timestamp ${JSON.stringify(stamp)}`;
  const wholeMs = Date.parse(`${match[1]}T${match[2]}Z`);
  if (Number.isNaN(wholeMs)) return `bad timestamp ${JSON.stringify(stamp)}`;
  const fractionMs = match[3] === undefined ? 0 : Number(match[3]) * 1000;
  // Digits only: Number('') is 0, and an empty column must not read as a zero-token request.
  if (!/^\d+$/.test(context) || !/^\d+$/.test(generated)) return 'token counts must be non-negative integers';
  const inputTokens = Number(context);
  const outputTokens = Number(generated);
  return { atMs: wholeMs + fractionMs, inputTokens, outputTokens };
}
