import { readFile } from 'node:fs/promises';

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

/**
 * Parses the Azure LLM inference trace CSV (Azure Public Dataset, AzureLLMInferenceTrace_{code,conv},
 * CC-BY-4.0): header `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps `YYYY-MM-DD HH:MM:SS.fffffff`
 * (UTC wall clock, 7 decimals), ContextTokens = prompt length, GeneratedTokens = output length.
 * Rows with zero output tokens are kept with outputTokens 0; callers decide. Arrival times are
 * relative to the first row.
 */
export function parseAzureTrace(csv: string, source = 'trace'): TraceRequest[] {
  const lines = csv.split(/\r?\n/);
  if (lines[0]?.trim() !== HEADER) {
    throw new TraceFormatError(`${source}: expected header "${HEADER}", got "${lines[0]?.slice(0, 80) ?? ''}"`);
  }
  const out: TraceRequest[] = [];
  let firstMs: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]?.trim();
    if (line === undefined || line === '') continue;
    const [stamp, context, generated, extra] = line.split(',');
    if (stamp === undefined || context === undefined || generated === undefined || extra !== undefined) {
      throw new TraceFormatError(`${source}:${i + 1}: expected 3 columns`);
    }
    const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(stamp);
    if (match === null) throw new TraceFormatError(`${source}:${i + 1}: bad timestamp ${JSON.stringify(stamp)}`);
    const wholeMs = Date.parse(`${match[1]}T${match[2]}Z`);
    const fractionMs = match[3] === undefined ? 0 : Number(match[3]) * 1000;
    const atMs = wholeMs + fractionMs;
    const inputTokens = Number(context);
    const outputTokens = Number(generated);
    if (!Number.isInteger(inputTokens) || inputTokens < 0 || !Number.isInteger(outputTokens) || outputTokens < 0) {
      throw new TraceFormatError(`${source}:${i + 1}: token counts must be non-negative integers`);
    }
    firstMs ??= atMs;
    out.push({ arrivalMs: atMs - firstMs, inputTokens, outputTokens });
  }
  return out;
}

/** Reads and parses an Azure trace file. */
export async function readAzureTrace(path: string): Promise<TraceRequest[]> {
  return parseAzureTrace(await readFile(path, 'utf8'), path);
}
