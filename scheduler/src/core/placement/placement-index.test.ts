import { createRng, getModel, MODEL_CATALOG, type ModelSpec } from '@switchyard/fleet-model';
import { getProfile } from '@switchyard/fleet-model';
import type { Heartbeat, Registration } from '@switchyard/protocol';
import type { NodeRecord, Reservation } from '../fleet/node-record.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_DETECTOR } from '../fleet/failure-detector.js';
import { FleetView } from '../fleet/fleet-view.js';
import { MEMORY_CLASSES, memoryClassOf } from './level-occupancy.js';
import { freeHbmBytes, type LoadBucket, PlacementIndex } from './placement-index.js';
import { buildPlacement, LATENCY_PLACEMENT_CONFIG } from './registry.js';
import type { PlacementRequest } from './types.js';

const PROFILES = [
  { profile: 'h100', chips: 4, models: ['llama-3.1-8b', 'llama-3.3-70b'] },
  { profile: 'h100', chips: 8, models: ['llama-3.1-8b'] },
  { profile: 'trn2', chips: 2, models: ['llama-3.1-8b', 'llama-3.3-70b'] },
  { profile: 'l4', chips: 1, models: ['llama-3.1-8b'] },
  { profile: 'a100', chips: 8, models: ['llama-3.3-70b'] },
] as const;

/** A random fleet built from real registrations and heartbeats, with random load and reservations. */
function randomFleet(seed: number, nodes: number): { fleet: FleetView; plain: FleetView } {
  const rng = createRng(seed);
  const index = new PlacementIndex();
  const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, index);
  const plain = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR);
  for (let i = 0; i < nodes; i++) {
    const kind = PROFILES[Math.floor(rng() * PROFILES.length)]!;
    const profile = getProfile(kind.profile)!;
    const hbmTotal = profile.hbmBytesPerChip * kind.chips;
    const weights = kind.models.reduce((sum, m) => sum + (getModel(m)?.weightBytes ?? 0), 0);
    const maxBatch = [8, 16, 64][Math.floor(rng() * 3)]!;
    // Few distinct states, as in a real fleet, so that ties and shared buckets occur.
    const inFlight = Math.floor(rng() * rng() * (maxBatch + 4));
    const status: Heartbeat = {
      v: 1,
      nodeId: `n${i}`,
      incarnation: 'inc-1',
      seq: 1,
      sentAtMs: 0,
      cluster: `c${i % 3}`,
      zone: 'z',
      state: rng() < 0.05 ? 'draining' : 'ready',
      accelerator: {
        profile: kind.profile,
        count: kind.chips,
        hbmTotalBytes: hbmTotal,
        hbmUsedBytes: Math.min(hbmTotal, weights + Math.floor(rng() * 0.1 * hbmTotal)),
      },
      models: kind.models.map((name) => ({ name, state: 'loaded' as const })),
      queueDepth: rng() < 0.7 ? 0 : Math.floor(rng() * 5),
      inFlight,
      maxBatchSize: maxBatch,
      utilization: 0.5,
      powerDrawWatts: 100,
      powerLimitWatts: 1000,
      temperatureC: 40,
    };
    const registration: Registration = { ...status, agentVersion: 't', heartbeatIntervalMs: 1000 };
    const reservations = rng() < 0.3 ? Math.floor(rng() * 3) : 0;
    const cordoned = rng() < 0.05;
    for (const view of [fleet, plain]) {
      view.register(registration, 0);
      for (let r = 0; r < reservations; r++) {
        view.assume({
          requestId: `r-${i}-${r}`,
          nodeId: `n${i}`,
          model: 'llama-3.1-8b',
          kvBytes: 1e8,
          predictedServiceMs: 500,
          powerDeltaWatts: 0,
          sloClass: 'interactive',
          assumedAtMs: 0,
          confirmedAtMs: undefined,
        });
      }
      if (cordoned) view.setOperatorState(`n${i}`, 'cordoned');
    }
  }
  return { fleet, plain };
}

function randomRequest(rng: () => number, i: number): PlacementRequest {
  const models: ModelSpec[] = MODEL_CATALOG.filter((m) => m.name === 'llama-3.1-8b' || m.name === 'llama-3.3-70b');
  return {
    requestId: `q${i}`,
    model: models[Math.floor(rng() * models.length)]!,
    inputTokens: 1 + Math.floor(rng() * 8000),
    maxOutputTokens: 1 + Math.floor(rng() * 2000),
    priority: 'normal',
    sloClass: 'interactive',
  };
}

describe('PlacementIndex', () => {
  const placement = buildPlacement(LATENCY_PLACEMENT_CONFIG);

  it('is used by the latency pipeline', () => {
    expect(placement.usesIndex).toBe(true);
  });

  it.each([1, 2, 3, 4, 5])('finds the same best score as a full scan on random fleet %i', (seed) => {
    const { fleet, plain } = randomFleet(seed, 400);
    const rng = createRng(seed * 31);
    for (let i = 0; i < 60; i++) {
      const request = randomRequest(rng, i);
      const fast = placement.place(request, fleet, { nowMs: 0, rng: createRng(i) });
      const full = placement.place(request, plain, { nowMs: 0, rng: createRng(i), explain: true });
      expect(fast.ok).toBe(full.ok);
      if (!fast.ok || !full.ok) continue;
      const best = Math.max(...(full.explanation ?? []).map((e) => e.total ?? Number.NEGATIVE_INFINITY));
      expect(fast.score).toBeCloseTo(best, 9);
      const pickedInFull = full.explanation?.find((e) => e.nodeId === fast.node.nodeId);
      expect(pickedInFull?.total).toBeCloseTo(best, 9);
      // Keep both views in step, so that later requests see the load this one adds.
      const reservation: Reservation = {
        requestId: request.requestId,
        nodeId: fast.node.nodeId,
        model: request.model.name,
        kvBytes: 1e8,
        predictedServiceMs: 400,
        powerDeltaWatts: 0,
        sloClass: 'interactive',
        assumedAtMs: 0,
        confirmedAtMs: undefined,
      };
      fleet.assume(reservation);
      plain.assume({ ...reservation });
    }
  });

  it('tracks nodes through load changes, cordons, death and removal', () => {
    const { fleet } = randomFleet(9, 50);
    const index = fleet.index!;
    const schedulable = (): number => fleet.nodes.filter((n) => n.schedulable).length;
    expect(index.size).toBe(schedulable());
    const node = fleet.nodes.find((n) => n.schedulable)!;
    fleet.setOperatorState(node.nodeId, 'cordoned');
    expect(node.indexBucket).toBeUndefined();
    fleet.setOperatorState(node.nodeId, 'active');
    expect(node.indexBucket?.nodes).toContain(node);
    fleet.markSuspect(node.nodeId);
    expect(index.size).toBe(schedulable());
    fleet.sweep(DEFAULT_FAILURE_DETECTOR.forgetAfterMs + 1);
    expect(fleet.size).toBe(0);
    expect(index.size).toBe(0);
    expect(index.families.size).toBe(0);
  });

  it('spreads ties uniformly over equal idle nodes', () => {
    const { fleet } = randomFleet(11, 1);
    const counts = new Map<string, number>();
    const idle = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, new PlacementIndex());
    for (const n of ['a', 'b', 'c', 'd']) {
      const template = fleet.nodes[0]!;
      idle.register(
        {
          v: 1,
          nodeId: n,
          incarnation: 'i',
          seq: 1,
          sentAtMs: 0,
          cluster: 'c',
          zone: 'z',
          state: 'ready',
          accelerator: { profile: 'h100', count: 8, hbmTotalBytes: 640e9, hbmUsedBytes: 16e9 },
          models: [{ name: 'llama-3.1-8b', state: 'loaded' }],
          queueDepth: 0,
          inFlight: 0,
          maxBatchSize: template.maxBatchSize,
          utilization: 0,
          powerDrawWatts: 1,
          powerLimitWatts: 1,
          temperatureC: 1,
          agentVersion: 't',
          heartbeatIntervalMs: 1000,
        },
        0,
      );
    }
    const rng = createRng(5);
    const request = randomRequest(createRng(1), 0);
    for (let i = 0; i < 4000; i++) {
      const decision = placement.place({ ...request, model: getModel('llama-3.1-8b')! }, idle, { nowMs: 0, rng });
      if (decision.ok) counts.set(decision.node.nodeId, (counts.get(decision.node.nodeId) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(850);
  });
});

/** Every way the index disagrees with a recount from the fleet's nodes (none, when consistent). */
function inconsistencies(fleet: FleetView): string[] {
  const index = fleet.index!;
  const problems: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  const schedulable = fleet.nodes.filter((n) => n.schedulable);
  check(index.size === schedulable.length, `size ${index.size} ≠ ${schedulable.length} schedulable`);
  const familySizes = new Map<string, number>();
  for (const node of fleet.nodes) {
    const bucket = node.indexBucket as LoadBucket | undefined;
    if (!node.schedulable || bucket === undefined) {
      check(node.schedulable === (bucket !== undefined), `${node.nodeId}: filed ${bucket !== undefined}`);
      continue;
    }
    const family = bucket.family;
    check(bucket.nodes[node.indexSlot] === node, `${node.nodeId}: slot`);
    check(index.families.get(family.key) === family && family.admits(node), `${node.nodeId}: family`);
    check(bucket.memoryClass === memoryClassOf(freeHbmBytes(node)), `${node.nodeId}: memory class`);
    const filed =
      node.load >= node.maxBatchSize
        ? bucket.load === -1
        : bucket.load === node.load && bucket.backlog === node.prefillBacklog;
    check(filed, `${node.nodeId}: filed at ${bucket.load}/${bucket.backlog}, is ${node.load}/${node.prefillBacklog}`);
    familySizes.set(family.key, (familySizes.get(family.key) ?? 0) + 1);
  }
  for (const [key, family] of index.families) check(family.size === familySizes.get(key), `family ${key} size`);
  check(index.families.size === familySizes.size, 'family count');

  // Every occupancy answers as a recount of its nodes would.
  for (const shape of index.shapeList) {
    const members = schedulable.filter((n) => (n.indexBucket as LoadBucket).family.group.shape === shape);
    const models = new Set(members.flatMap((n) => [...n.loadedModels]));
    for (const minClass of [0, 1, 5]) {
      for (const model of [undefined, ...models]) {
        const nodes = members.filter(
          (n) => (model === undefined || n.loadedModels.has(model)) && memoryClassOf(freeHbmBytes(n)) >= minClass,
        );
        const occupancy = model === undefined ? shape.all : shape.warmFor(model)!;
        const levels = new Set(nodes.filter((n) => n.load < n.maxBatchSize).map((n) => n.load));
        for (let level = 0; level < shape.maxBatchSize; level++) {
          const expected = [...levels].filter((l) => l >= level).sort((a, b) => a - b)[0] ?? -1;
          const next = occupancy.nextLevel(level, minClass);
          check(next === expected, `${shape.key} ${model ?? 'all'} class ≥ ${minClass} from ${level}: ${next}`);
        }
        check(occupancy.sizeFrom(minClass) === nodes.length, `${shape.key} ${model ?? 'all'} size`);
      }
    }
    for (const group of shape.groups) {
      const inGroup = members.filter((n) => (n.indexBucket as LoadBucket).family.group === group);
      check(group.all.size === inGroup.length, `${shape.key} group size`);
      check(
        group.families.every((f) => f.group === group && f.size > 0),
        `${shape.key} group families`,
      );
      for (let level = 0; level < shape.maxBatchSize; level++) {
        const occupied = inGroup.some((n) => n.load === level && n.load < n.maxBatchSize);
        check(group.all.has(level) === occupied, `${shape.key} group level ${level}`);
      }
      check(group.minLimitWatts === Math.min(...group.families.map((f) => f.limitWatts)), `${shape.key} group limit`);
    }
  }
  return problems;
}

describe('PlacementIndex bookkeeping', () => {
  it('agrees with a recount of the fleet through heartbeats, placements, releases, cordons and deaths', () => {
    const { fleet } = randomFleet(21, 120);
    const rng = createRng(22);
    const nodes = (): NodeRecord[] => fleet.nodes.filter((n) => n.liveness === 'alive');
    const seqs = new Map<string, number>();
    let opened = 0;
    const problems: string[] = [];
    for (let step = 0; step < 400; step++) {
      const node = nodes()[Math.floor(rng() * nodes().length)];
      if (node === undefined) break;
      const r = rng();
      if (r < 0.45) {
        const seq = (seqs.get(node.nodeId) ?? 1) + 1;
        seqs.set(node.nodeId, seq);
        const limit = rng() < 0.2 ? 700.5 + Math.floor(rng() * 3) : rng() < 0.5 ? 400 : 1000;
        fleet.applyHeartbeat(
          {
            v: 1,
            nodeId: node.nodeId,
            incarnation: node.incarnation,
            seq,
            sentAtMs: 0,
            cluster: node.cluster,
            zone: 'z',
            state: 'ready',
            accelerator: {
              profile: node.profileName,
              count: node.hardware.chipCount,
              hbmTotalBytes: node.hbmTotalBytes,
              hbmUsedBytes: Math.floor(node.hbmTotalBytes * rng()),
            },
            models: [...node.models],
            queueDepth: rng() < 0.6 ? 0 : Math.floor(rng() * 20),
            inFlight: Math.floor(rng() * (node.maxBatchSize + 3)),
            maxBatchSize: node.maxBatchSize,
            utilization: 0.5,
            powerDrawWatts: 100,
            powerLimitWatts: limit,
            temperatureC: 40,
          },
          step,
        );
      } else if (r < 0.7) {
        fleet.assume({
          requestId: `s${opened++}`,
          nodeId: node.nodeId,
          model: 'llama-3.1-8b',
          kvBytes: Math.floor(rng() * 40e9),
          predictedServiceMs: 300,
          powerDeltaWatts: 10,
          sloClass: 'batch',
          assumedAtMs: step,
          confirmedAtMs: undefined,
        });
      } else if (r < 0.85) {
        const open = [...node.reservations.keys()];
        if (open.length > 0) fleet.release(open[0]!);
      } else if (r < 0.95) {
        fleet.setOperatorState(node.nodeId, node.operatorState === 'active' ? 'cordoned' : 'active');
      } else {
        fleet.markSuspect(node.nodeId);
      }
      if (step % 40 === 0) problems.push(...inconsistencies(fleet).map((p) => `step ${step}: ${p}`));
    }
    expect(problems).toEqual([]);
    expect(inconsistencies(fleet)).toEqual([]);
    fleet.sweep(DEFAULT_FAILURE_DETECTOR.forgetAfterMs + 1_000);
    expect(inconsistencies(fleet)).toEqual([]);
    expect([fleet.index!.families.size, fleet.index!.shapeList.length]).toEqual([0, 0]);
  });

  it('keeps a family and reuses its buckets while its only member’s load moves, and drops it when the member leaves', () => {
    const { fleet } = randomFleet(31, 40);
    const node = fleet.nodes.find((n) => n.schedulable && n.load + 2 < n.maxBatchSize)!;
    const bucket = node.indexBucket as LoadBucket;
    const family = bucket.family;
    // Alone in its family: move every other member out by cordoning it.
    for (const other of fleet.nodes) {
      if (other !== node && (other.indexBucket as LoadBucket | undefined)?.family === family) {
        fleet.setOperatorState(other.nodeId, 'cordoned');
      }
    }
    expect(family.size).toBe(1);
    const reserve = (id: string): void =>
      fleet.assume({
        requestId: id,
        nodeId: node.nodeId,
        model: 'llama-3.1-8b',
        kvBytes: 1,
        predictedServiceMs: 100,
        powerDeltaWatts: 0,
        sloClass: 'standard',
        assumedAtMs: 0,
        confirmedAtMs: undefined,
      });
    const seen = new Set<LoadBucket>([bucket]);
    for (let i = 0; i < 6; i++) {
      reserve(`move-${i}`);
      if (i % 2 === 1) fleet.release(`move-${i}`);
      const now = node.indexBucket as LoadBucket;
      expect(now.family).toBe(family);
      expect([now.load, now.nodes]).toEqual([node.load, [node]]);
      seen.add(now);
    }
    expect(fleet.index!.families.get(family.key)).toBe(family);
    // Emptied buckets are recycled: six moves need no more than a couple of bucket objects.
    expect(seen.size).toBeLessThanOrEqual(2);
    expect(inconsistencies(fleet)).toEqual([]);
    fleet.setOperatorState(node.nodeId, 'cordoned');
    expect(fleet.index!.families.has(family.key)).toBe(false);
  });

  it('splits a family where the key rounds two different power limits, so estimates stay equal within one', () => {
    const index = new PlacementIndex();
    const fleet = new FleetView(getProfile, DEFAULT_FAILURE_DETECTOR, index);
    const base = randomFleet(3, 1).fleet.nodes[0]!;
    for (const [id, limit] of [
      ['a', 700.2],
      ['b', 699.9],
      ['c', 700.2],
    ] as const) {
      fleet.register(
        {
          v: 1,
          nodeId: id,
          incarnation: 'i',
          seq: 1,
          sentAtMs: 0,
          cluster: 'c',
          zone: 'z',
          state: 'ready',
          accelerator: {
            profile: base.profileName,
            count: base.hardware.chipCount,
            hbmTotalBytes: 1e12,
            hbmUsedBytes: 0,
          },
          models: [],
          queueDepth: 0,
          inFlight: 0,
          maxBatchSize: 8,
          utilization: 0,
          powerDrawWatts: 1,
          powerLimitWatts: limit,
          temperatureC: 1,
          agentVersion: 't',
          heartbeatIntervalMs: 1000,
        },
        0,
      );
    }
    const bucket = (id: string): LoadBucket => fleet.get(id)!.indexBucket as LoadBucket;
    expect(fleet.get('a')!.familyKey).toBe(fleet.get('b')!.familyKey);
    expect(bucket('a')).toBe(bucket('c'));
    expect(bucket('a').family).not.toBe(bucket('b').family);
    expect(index.families.size).toBe(2);
    expect(MEMORY_CLASSES).toBeGreaterThan(bucket('a').memoryClass);
  });
});
