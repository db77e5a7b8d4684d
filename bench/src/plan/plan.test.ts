import { describe, expect, it } from 'vitest';
import { loadFleetSpec } from '../sim/fleet-spec.js';
import { agentSessions, azureLikeSizes, poisson } from '../workload/synthetic.js';
import { assignMix, runPlan } from './plan.js';
import { PLAN_REPORT_SCHEMA, type PlanReport } from './plan-report.js';

const REFERENCE_FLEET = new URL('../../fleets/reference.json', import.meta.url).pathname;
const MIX = {
  models: { 'llama-3.1-8b': 4, 'llama-3.3-70b': 1 },
  classes: { interactive: 0.65, standard: 0.25, batch: 0.1 },
  regions: ['eu-central', 'us-east'],
};

/** Rounds every number to 4 significant digits: the golden file pins behaviour, not float noise. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(4)) : String(value);
  if (Array.isArray(value)) return value.map(rounded);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  }
  return value;
}

describe('assignMix', () => {
  const rows = poisson({ ratePerSecond: 50, durationMs: 200_000, seed: 3, sizes: azureLikeSizes });

  it('is deterministic for a seed and follows the weights', () => {
    const requests = assignMix(rows, MIX, 9);
    expect(assignMix(rows, MIX, 9)).toEqual(requests);
    expect(assignMix(rows, MIX, 10)).not.toEqual(requests);
    const share = (pred: (r: (typeof requests)[number]) => boolean): number =>
      requests.filter(pred).length / requests.length;
    expect(share((r) => r.model === 'llama-3.3-70b')).toBeCloseTo(0.2, 1);
    expect(share((r) => r.sloClass === 'batch')).toBeCloseTo(0.1, 1);
    expect(share((r) => r.region === 'us-east')).toBeCloseTo(0.5, 1);
    expect(requests.map((r) => r.arrivalMs)).toEqual(rows.map((r) => r.arrivalMs));
  });

  it("keeps a session's model, class and region for all its turns, and never asks for zero tokens", () => {
    const turns = agentSessions({
      sessions: 40,
      turnsPerSession: { min: 3, max: 8 },
      meanThinkMs: 5_000,
      contextGrowthTokens: 100,
      durationMs: 120_000,
      seed: 2,
      sizes: azureLikeSizes,
    });
    const requests = assignMix(
      turns.map((t, i) => (i === 0 ? { ...t, outputTokens: 0, inputTokens: 0 } : t)),
      MIX,
      1,
    );
    const kinds = new Map<string, string>();
    requests.forEach((r, i) => {
      const kind = `${r.model}/${r.sloClass}/${r.region}`;
      const id = turns[i]!.sessionId!;
      expect(kinds.get(id) ?? kind).toBe(kind);
      kinds.set(id, kind);
    });
    expect(requests[0]!.outputTokens).toBe(1);
    expect(requests[0]!.inputTokens).toBe(1);
  });

  it('refuses a mix without a positive weight', () => {
    expect(() => assignMix(rows, { ...MIX, models: { a: 0 } }, 1)).toThrow(/model mix/);
  });
});

describe('runPlan', () => {
  const fleet = loadFleetSpec(REFERENCE_FLEET);
  const rows = poisson({ ratePerSecond: 8, durationMs: 120_000, seed: 5, sizes: azureLikeSizes });
  const options = {
    title: 'golden',
    fleet,
    fleetSource: 'reference.json',
    requests: assignMix(rows, MIX, 5),
    workloadSource: 'poisson 8/s for 120 s',
    skippedRows: 0,
    seed: 5,
    capacityTarget: 0.99,
    capacityMaxTrials: 12,
    now: () => new Date('2026-11-23T00:00:00Z'),
  };

  it('produces the same plan for the same inputs (golden summary)', async () => {
    const report = runPlan(options);
    const { simulator: _speed, ...rest } = report;
    expect(rounded(runPlan(options).policies.map((p) => p.summary))).toEqual(
      rounded(report.policies.map((p) => p.summary)),
    );
    const golden = {
      policies: rest.policies.map((p) => p.summary),
      capacity: rest.capacity === undefined ? undefined : { ...rest.capacity, trials: rest.capacity.trials.length },
      workload: rest.workload,
      fleet: rest.fleet.mix,
    };
    await expect(`${JSON.stringify(rounded(golden), null, 2)}\n`).toMatchFileSnapshot('./__golden__/plan-summary.json');
  });

  it('reports every policy, the capacity answer and the simulator speed', () => {
    const phases = new Set<string>();
    const report: PlanReport = runPlan({ ...options, onProgress: (phase) => phases.add(phase) });
    expect(report.schema).toBe(PLAN_REPORT_SCHEMA);
    expect(report.policies.map((p) => p.summary.policy)).toEqual([
      'random',
      'round-robin',
      'least-loaded',
      'latency-first',
      'switchyard',
    ]);
    expect(report.workload.requests).toBe(rows.length);
    expect(report.workload.byClass.interactive + report.workload.byClass.standard + report.workload.byClass.batch).toBe(
      rows.length,
    );
    expect(report.capacity?.trials.length).toBeGreaterThan(1);
    expect(report.simulator.simulatedRequests).toBeGreaterThanOrEqual(
      rows.length * (5 + report.capacity!.trials.length),
    );
    expect(report.simulator.requestsPerWallSecond).toBeGreaterThan(0);
    expect([...phases]).toContain('capacity search');
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ title: 'golden', seed: 5 });
  });
});
