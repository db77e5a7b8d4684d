import { Heartbeat, decode } from '@switchyard/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFleetFixture } from './fleet-fixture.js';
import { FIXTURE_REGIONS, buildRequestMix } from './request-mix.js';
import { HeartbeatStream } from './heartbeat.bench.js';
import { MICRO_REPORT_SCHEMA, compare, formatResults, machineInfo, type MicroReport } from './micro-report.js';
import { runMicroSuites, type MicroRun } from './micro-suites.js';
import { TINY_RUN, type CaseResult } from './runner.js';

describe('micro-benchmark suites (smoke, 200 nodes)', () => {
  let run: MicroRun;
  beforeAll(() => {
    run = runMicroSuites({
      quick: true,
      seed: 1,
      settings: TINY_RUN,
      placementNodeCounts: [200],
      heartbeatNodes: 200,
      verifySamples: 40,
    });
  });

  it.each(['placement', 'placement-breakdown', 'heartbeat', 'codec'])(
    '%s produces finite, positive figures',
    (suite) => {
      const results = run.results.filter((r) => r.suite === suite);
      expect(results.length).toBeGreaterThan(0);
      const bad = results.filter(
        (r) =>
          !(Number.isFinite(r.opsPerSec) && r.opsPerSec > 0) ||
          !(Number.isFinite(r.p99Us) && r.p99Us >= r.p50Us && r.p50Us >= 0) ||
          r.samples < TINY_RUN.iterations,
      );
      expect(bad).toEqual([]);
    },
  );

  it('picks a best-scoring node in every verified request (indexed framework vs brute force)', () => {
    expect(run.checks['placement']).toMatchObject({
      'verified@200': 40,
      mismatches: 0,
      'pickDiffersPct@200': 0,
    });
    expect(run.checks['placement']?.['maxScoreGap@200']).toBeLessThanOrEqual(1e-9);
    expect(run.checks['placement']?.['meanScoreGap@200']).toBeLessThanOrEqual(1e-9);
  });

  it('times the default pipeline per SLO class at the reference fleet size', () => {
    const names = run.results.filter((r) => r.suite === 'placement-breakdown').map((r) => r.name);
    for (const sloClass of ['interactive', 'standard', 'batch']) {
      expect(names).toContain(`place() default pipeline, ${sloClass} requests only @ 200 nodes`);
    }
  });

  it('applies every timed heartbeat (none stale, none unknown)', () => {
    expect(run.checks['heartbeat']).toMatchObject({ ingestNotApplied: 0, applyNotApplied: 0 });
    expect(run.checks['heartbeat']?.['applied']).toBeGreaterThan(0);
  });

  it('prints DESIGN targets beside the 10k/50k cases only', () => {
    const table = formatResults(run.results);
    expect(table).toContain('p99 µs');
    expect(run.results.find((r) => r.name.startsWith('place() default'))?.target).toBeUndefined();
  });
});

function caseResult(name: string, opsPerSec: number, p99Us: number): CaseResult {
  return {
    suite: 's',
    name,
    opsPerSec,
    meanUs: 1,
    p50Us: 1,
    p75Us: 1,
    p99Us,
    maxUs: p99Us,
    rmePct: 1,
    samples: 100,
    opsPerCall: 1,
  };
}

describe('micro-benchmark plumbing', () => {
  it('runs only the cases --filter selects', () => {
    const { results } = runMicroSuites({ quick: true, seed: 1, settings: TINY_RUN, filter: 'codec: decode Heartbeat' });
    expect(results.map((r) => `${r.suite}: ${r.name}`)).toEqual(['codec: decode Heartbeat']);
  });

  it('moves heartbeat sequence numbers on in place, keeping the bytes valid', () => {
    const stream = new HeartbeatStream(buildFleetFixture({ nodes: 20, seed: 3 }), 2, 4);
    const seqs = (): number[] =>
      stream.messages.map((bytes) => {
        const decoded = decode(Heartbeat, bytes);
        if (!decoded.ok) throw new Error(decoded.error.message);
        return decoded.value.seq;
      });
    const before = seqs();
    stream.advance();
    expect(seqs()).toEqual(before.map((seq) => seq + 2));
  });

  it('spreads the fleet over clusters in every power stage, with a capped cluster and requests from every region and SLO class', () => {
    const fixture = buildFleetFixture({ nodes: 1_000, seed: 4 });
    expect(new Set(Object.values(fixture.stats.stages))).toEqual(new Set(['normal', 'steer', 'defer', 'cap']));
    expect(fixture.stats.capped).toBeGreaterThan(10);
    const capped = fixture.fleet.nodes.filter((n) => n.clusterState?.stage === 'cap' && n.schedulable);
    expect(capped.some((n) => n.powerLimitWatts < n.hardware.chipCount * n.hardware.profile.peakWattsPerChip)).toBe(
      true,
    );
    const requests = buildRequestMix(2_000, 4);
    expect(new Set(requests.map((r) => r.region))).toEqual(new Set(FIXTURE_REGIONS.map((r) => r.name)));
    expect(new Set(requests.map((r) => r.sloClass))).toEqual(new Set(['interactive', 'standard', 'batch']));
    expect(requests.filter((r) => r.targetMs !== undefined).length).toBeGreaterThan(200);
    // Every region has a round trip to every cluster (configured, or the topology's default for unlisted pairs).
    for (const region of FIXTURE_REGIONS) {
      for (const state of fixture.fleet.topology.all()) expect(state.networkMs(region.name)).toBeGreaterThan(0);
    }
  });

  it('builds the same fleet from the same seed', () => {
    const a = buildFleetFixture({ nodes: 300, seed: 9 });
    const b = buildFleetFixture({ nodes: 300, seed: 9 });
    expect(a.stats).toEqual(b.stats);
    expect(a.fleet.nodes.map((n) => [n.nodeId, n.load, n.hbmUsedBytes, n.powerLimitWatts])).toEqual(
      b.fleet.nodes.map((n) => [n.nodeId, n.load, n.hbmUsedBytes, n.powerLimitWatts]),
    );
    expect([...a.fleet.topology.all()].map((c) => [c.name, c.budgetWatts, c.stage])).toEqual(
      [...b.fleet.topology.all()].map((c) => [c.name, c.budgetWatts, c.stage]),
    );
    expect(a.stats.cordoned + a.stats.suspect + a.stats.draining).toBeGreaterThan(0);
  });

  it('flags a drop in ops/s or a rise in p99 beyond 10 % as a regression', () => {
    const base: MicroReport = {
      schema: MICRO_REPORT_SCHEMA,
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 1,
      quick: false,
      seed: 1,
      machine: machineInfo(),
      settings: TINY_RUN,
      results: [caseResult('same', 1000, 10), caseResult('slower', 1000, 10), caseResult('tail', 1000, 10)],
      checks: {},
    };
    const now = [
      caseResult('same', 950, 10.5),
      caseResult('slower', 850, 10),
      caseResult('tail', 1000, 12),
      caseResult('new', 1, 1),
    ];
    const byName = Object.fromEntries(compare(base, now).map((c) => [c.name, c.regression]));
    expect(byName).toEqual({ 's: same': false, 's: slower': true, 's: tail': true });
  });
});
