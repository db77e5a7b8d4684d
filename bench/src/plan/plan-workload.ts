/**
 * Where a plan's requests come from: a trace file (the Azure CSV or the generic JSONL format, by
 * extension) or a synthetic generator. Trace rows carry times and sizes only; assignMix gives them
 * models, classes and regions.
 */
import { extname } from 'node:path';
import { readAzureTrace } from '../workload/azure-trace.js';
import { readJsonlTrace } from '../workload/jsonl-trace.js';
import { agentSessions, azureLikeSizes, bursty, diurnal, poisson } from '../workload/synthetic.js';
import type { SkippedRow, WorkloadRequest } from '../workload/workload.js';

export const SYNTHETIC_KINDS = ['poisson', 'bursty', 'diurnal', 'agents'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export type WorkloadSpec =
  | { readonly kind: 'trace'; readonly path: string; readonly skipBadRows: boolean }
  | {
      readonly kind: 'synthetic';
      readonly generator: SyntheticKind;
      readonly ratePerSecond: number;
      readonly durationMs: number;
      readonly seed: number;
      /** Mean think time between an agent session's turns (agents only). */
      readonly meanThinkMs?: number;
    };

export interface LoadedWorkload {
  readonly rows: readonly WorkloadRequest[];
  /** What the report names as the workload. */
  readonly source: string;
  readonly skipped: readonly SkippedRow[];
}

/** A file extension this reader does not know. */
export class WorkloadSourceError extends Error {
  override readonly name = 'WorkloadSourceError';
  readonly code = 'TRACE_FORMAT';
}

export async function loadWorkload(spec: WorkloadSpec): Promise<LoadedWorkload> {
  if (spec.kind === 'trace') {
    const extension = extname(spec.path).toLowerCase();
    if (extension === '.csv') {
      const skipped: SkippedRow[] = [];
      const rows = await readAzureTrace(spec.path, {
        skipBadRows: spec.skipBadRows,
        onSkippedRow: (row) => skipped.push(row),
      });
      return { rows, source: spec.path, skipped };
    }
    if (extension === '.jsonl' || extension === '.ndjson') {
      const { requests, skipped } = await readJsonlTrace(spec.path, { skipBadRows: spec.skipBadRows });
      return { rows: requests, source: spec.path, skipped };
    }
    throw new WorkloadSourceError(
      `${spec.path}: unknown trace format "${extension}"; use an Azure LLM trace .csv or a .jsonl trace`,
    );
  }
  const { generator, ratePerSecond, durationMs, seed } = spec;
  const base = { durationMs, seed, sizes: azureLikeSizes };
  const rows = ((): WorkloadRequest[] => {
    switch (generator) {
      case 'poisson':
        return poisson({ ...base, ratePerSecond });
      case 'bursty':
        // Calm at half the mean, bursts at twice it, a third of the time in bursts: the mean is ratePerSecond.
        return bursty({
          ...base,
          baseRatePerSecond: ratePerSecond / 2,
          burstRatePerSecond: ratePerSecond * 2,
          meanBurstMs: 10_000,
          meanCalmMs: 20_000,
        });
      case 'diurnal':
        return diurnal({ ...base, meanRatePerSecond: ratePerSecond, peakToTroughRatio: 3, periodMs: durationMs });
      case 'agents': {
        const meanThinkMs = spec.meanThinkMs ?? 30_000;
        const turns = { min: 3, max: 30 };
        // Sessions so that turns arrive at about ratePerSecond over the window.
        const meanTurns = Math.min((turns.min + turns.max) / 2, durationMs / meanThinkMs / 2 + 1);
        const sessions = Math.max(1, Math.round((ratePerSecond * durationMs) / 1000 / meanTurns));
        return agentSessions({ ...base, sessions, turnsPerSession: turns, meanThinkMs, contextGrowthTokens: 200 });
      }
      default:
        throw new WorkloadSourceError(`unknown synthetic workload ${JSON.stringify(generator satisfies never)}`);
    }
  })();
  const think = generator === 'agents' ? `, think ${(spec.meanThinkMs ?? 30_000) / 1000} s` : '';
  return {
    rows,
    source: `synthetic ${generator}: ${ratePerSecond} req/s for ${durationMs / 1000} s${think}, seed ${seed}`,
    skipped: [],
  };
}
