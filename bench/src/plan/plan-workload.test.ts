import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkloadFormatError } from '../workload/workload.js';
import { TraceFormatError } from '../workload/azure-trace.js';
import { loadWorkload, SYNTHETIC_KINDS, WorkloadSourceError } from './plan-workload.js';

const dir = mkdtempSync(join(tmpdir(), 'plan-workload-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadWorkload', () => {
  it('reads an Azure CSV and a JSONL trace by extension', async () => {
    const csv = file(
      'a.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n',
    );
    const jsonl = file(
      'b.jsonl',
      '{"timestamp": 1000, "input_tokens": 10, "output_tokens": 5, "session_id": "s1"}\n{"timestamp": 1500, "input_tokens": 20, "output_tokens": 6}\n',
    );
    expect((await loadWorkload({ kind: 'trace', path: csv, skipBadRows: false })).rows).toHaveLength(2);
    const fromJsonl = await loadWorkload({ kind: 'trace', path: jsonl, skipBadRows: false });
    expect(fromJsonl.rows.map((r) => r.arrivalMs)).toEqual([0, 500]);
    expect(fromJsonl.rows[0]!.sessionId).toBe('s1');
  });

  it('stops at a bad row naming file and line, or counts it with skipBadRows', async () => {
    const csv = file(
      'bad.csv',
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\nnot,a,row\n',
    );
    await expect(loadWorkload({ kind: 'trace', path: csv, skipBadRows: false })).rejects.toThrow(TraceFormatError);
    await expect(loadWorkload({ kind: 'trace', path: csv, skipBadRows: false })).rejects.toThrow(`${csv}:3:`);
    const skipped = await loadWorkload({ kind: 'trace', path: csv, skipBadRows: true });
    expect(skipped.rows).toHaveLength(1);
    expect(skipped.skipped).toEqual([{ line: 3, reason: expect.any(String) }]);
    const jsonl = file('bad.jsonl', '{"timestamp": 1, "input_tokens": 1, "output_tokens": 1}\n{"timestamp": "soon"}\n');
    await expect(loadWorkload({ kind: 'trace', path: jsonl, skipBadRows: false })).rejects.toThrow(WorkloadFormatError);
    expect((await loadWorkload({ kind: 'trace', path: jsonl, skipBadRows: true })).skipped).toHaveLength(1);
  });

  it('refuses an unknown trace format with a code', async () => {
    const path = file('t.parquet', 'PAR1');
    const error = await loadWorkload({ kind: 'trace', path, skipBadRows: false }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkloadSourceError);
    expect(error).toMatchObject({ code: 'TRACE_FORMAT', message: expect.stringContaining('.parquet') });
  });

  it.each(SYNTHETIC_KINDS)('generates %s arrivals at about the asked mean rate', async (generator) => {
    const loaded = await loadWorkload({
      kind: 'synthetic',
      generator,
      ratePerSecond: 20,
      durationMs: 600_000,
      seed: 3,
      meanThinkMs: 10_000,
    });
    const rate = loaded.rows.length / 600;
    expect(rate).toBeGreaterThan(10);
    expect(rate).toBeLessThan(30);
    expect(loaded.source).toContain(generator);
    expect(loaded.rows.every((r) => r.sessionId !== undefined)).toBe(generator === 'agents');
  });
});
