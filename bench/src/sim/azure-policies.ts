/**
 * `node bench/dist/sim/azure-policies.js [--trace <csv>] [--seed <n>]`
 *
 * The Azure LLM conversation trace (one hour, 19k requests) replayed through the simulator on a
 * reference fleet, once per placement policy. The trace has no models or SLO classes: every fifth
 * request asks for llama-3.3-70b, the rest for llama-3.1-8b; one in ten is batch, one in four of the
 * rest standard, the others interactive (deterministic by position, so every policy sees the same
 * requests).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SloClass } from '@switchyard/protocol';
import { readAzureTrace, type TraceRequest } from '../workload/azure-trace.js';
import { comparePolicies, formatPolicyComparison } from './policy-report.js';
import { loadFleetSpec } from './fleet-spec.js';
import type { SimRequest } from './simulator.js';

const DEFAULT_TRACE = fileURLToPath(new URL('../../../../shared/traces/azure-llm-2023-conv.csv', import.meta.url));
/** A small GPU site and a mixed Trainium + L4 site, each with a 25 kW budget. */
const REFERENCE_FLEET = fileURLToPath(new URL('../../fleets/reference.json', import.meta.url));

/** Gives trace rows a model and an SLO class by position (see the header). */
export function asSimRequests(trace: readonly TraceRequest[]): SimRequest[] {
  return trace.map((row, i) => {
    const sloClass: SloClass = i % 10 === 0 ? 'batch' : i % 4 === 0 ? 'standard' : 'interactive';
    return {
      arrivalMs: row.arrivalMs,
      model: i % 5 === 0 ? 'llama-3.3-70b' : 'llama-3.1-8b',
      inputTokens: row.inputTokens,
      // Rows that generated nothing still cost a prefill; the engine produces at least one token.
      outputTokens: Math.max(1, row.outputTokens),
      sloClass,
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trace: { type: 'string', default: DEFAULT_TRACE },
      fleet: { type: 'string', default: REFERENCE_FLEET },
      seed: { type: 'string', default: '1' },
    },
  });
  const requests = asSimRequests(await readAzureTrace(values.trace));
  const started = performance.now();
  const fleet = loadFleetSpec(values.fleet);
  const summaries = comparePolicies({ ...fleet, requests, seed: Number(values.seed) });
  const wallMs = performance.now() - started;
  const nodes = fleet.groups.reduce((sum, g) => sum + g.count, 0);
  console.log(`${values.trace}: ${requests.length} requests; ${values.fleet}: ${nodes} nodes\n`);
  console.log(formatPolicyComparison(summaries));
  console.log(
    `\n${summaries.length} policies simulated in ${(wallMs / 1000).toFixed(1)} s ` +
      `(${(((requests.length * summaries.length) / wallMs) * 60_000).toFixed(0)} simulated requests per wall minute)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
