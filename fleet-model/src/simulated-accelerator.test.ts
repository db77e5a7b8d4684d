import { describe, expect, it } from 'vitest';
import { decodeStepMs, kvBytes, modelLoadMs, predictServiceMs, prefillMs } from './latency.js';
import { createModelCatalog, getModel, MODEL_CATALOG } from './models.js';
import { nodePowerWatts, powerSpeedFactor } from './power.js';
import { getProfile } from './profiles.js';
import { createRng } from './rng.js';
import { SimulatedAccelerator } from './simulated-accelerator.js';
import type { SimEvent, SimJob, SimulatedAcceleratorOptions } from './simulated-accelerator-types.js';
import type { NodeHardware } from './types.js';

const h100: NodeHardware = { profile: getProfile('h100')!, chipCount: 8 };
const catalog = createModelCatalog(MODEL_CATALOG);
const small = getModel('llama-3.1-8b')!;

function makeSim(overrides: Partial<SimulatedAcceleratorOptions> = {}): SimulatedAccelerator {
  return new SimulatedAccelerator({
    hardware: h100,
    models: catalog,
    preloadedModels: ['llama-3.1-8b'],
    seed: 1,
    jitter: 0,
    startMs: 0,
    ...overrides,
  });
}

function job(id: string, inputTokens = 1000, maxOutputTokens = 100, extra: Partial<SimJob> = {}): SimJob {
  return { id, model: 'llama-3.1-8b', inputTokens, maxOutputTokens, ...extra };
}

/** The item at `index`, failing the test when there is none. */
function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`expected an item at index ${index} of ${items.length}`);
  return item;
}

function completed(events: SimEvent[]): Extract<SimEvent, { kind: 'completed' }>[] {
  return events.filter((e) => e.kind === 'completed');
}

function firstTokens(events: SimEvent[]): Map<string, number> {
  return new Map(events.flatMap((e) => (e.kind === 'first-token' ? [[e.jobId, e.atMs] as const] : [])));
}

/** A seeded open-loop workload: arrivals every `gapMs`, prompt and output lengths uniform. */
function runWorkload(seed: number, jobs: number, gapMs: number): SimEvent[] {
  const sim = makeSim({ seed, jitter: 0.03 });
  const rng = createRng(1234);
  const events: SimEvent[] = [];
  for (let i = 0; i < jobs; i++) {
    const input = 50 + Math.floor(rng() * 950);
    const output = 10 + Math.floor(rng() * 300);
    sim.submit(job(`j${i}`, input, output), i * gapMs);
    events.push(...sim.advance(i * gapMs));
  }
  events.push(...sim.advance(Number.POSITIVE_INFINITY));
  return events;
}

describe('SimulatedAccelerator: one job', () => {
  it('matches predictServiceMs for a lone job at batch 1', () => {
    const sim = makeSim();
    expect(sim.submit(job('a', 2000, 101), 0)).toEqual({ ok: true, queueDepth: 0 });
    expect(sim.nextEventAtMs()).toBeCloseTo(prefillMs(h100, small, 2000), 9);
    const events = sim.advance(10_000);
    const predicted = predictServiceMs(h100, small, 2000, 101, 1);
    expect(events.map((e) => e.kind)).toEqual(['first-token', 'completed']);
    const done = nth(completed(events), 0);
    expect(done.outputTokens).toBe(101);
    expect(done.timings.ttftMs).toBeCloseTo(predicted.prefillMs, 9);
    expect(done.timings.totalMs).toBeCloseTo(predicted.totalMs, 9);
    expect(done.timings.queueMs).toBe(0);
    expect(done.timings.loadMs).toBe(0);
    // Energy: prefill at 0.95 × TDP, then decode at batch 1 (0.43 × TDP), node-wide.
    const prefillJ =
      (nodePowerWatts(h100, { prefillActive: true, decodeBatch: 0, maxBatchSize: 2048 }) * predicted.prefillMs) / 1000;
    const decodeJ =
      (nodePowerWatts(h100, { prefillActive: false, decodeBatch: 1, maxBatchSize: 2048 }) * predicted.decodeMs) / 1000;
    expect(done.energyJoules).toBeCloseTo(prefillJ + decodeJ, 6);
    expect(sim.jobCount).toBe(0);
    expect(sim.nextEventAtMs()).toBeUndefined();
  });

  it('completes a one-token job at its first token', () => {
    const sim = makeSim();
    sim.submit(job('a', 500, 1), 0);
    const [first, done] = sim.advance(Number.POSITIVE_INFINITY);
    expect(first?.kind).toBe('first-token');
    expect(done?.kind).toBe('completed');
    expect(done?.atMs).toBe(first?.atMs);
  });

  it('slows down under a power cap by powerSpeedFactor, and draws at most the limit', () => {
    const capped = makeSim();
    expect(capped.setPowerLimit(10, 0)).toBe(1600); // clamped to 200 W × 8
    capped.submit(job('a', 2000, 101), 0);
    expect(capped.status(0).powerDrawWatts).toBe(1600);
    const done = nth(completed(capped.advance(Number.POSITIVE_INFINITY)), 0);
    const prefillDemand = nodePowerWatts(h100, { prefillActive: true, decodeBatch: 0, maxBatchSize: 2048 });
    const decodeDemand = nodePowerWatts(h100, { prefillActive: false, decodeBatch: 1, maxBatchSize: 2048 });
    const expectedTtft = prefillMs(h100, small, 2000, powerSpeedFactor(prefillDemand, 1600));
    const expectedDecode = 100 * decodeStepMs(h100, small, 1, powerSpeedFactor(decodeDemand, 1600));
    expect(done.timings.ttftMs).toBeCloseTo(expectedTtft, 9);
    expect(done.timings.totalMs).toBeCloseTo(expectedTtft + expectedDecode, 9);
    expect(done.timings.totalMs).toBeGreaterThan(predictServiceMs(h100, small, 2000, 101, 1).totalMs);
  });
});

describe('SimulatedAccelerator: batching and queueing', () => {
  it('queues beyond the batch size: the second wave gets its first token after the first wave', () => {
    const sim = makeSim({ maxBatchSize: 4 });
    const outcomes = Array.from({ length: 8 }, (_, i) => sim.submit(job(`j${i}`), 0));
    expect(outcomes.map((o) => (o.ok ? o.queueDepth : -1))).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    // One prompt prefills; the other three admitted jobs wait for the lane and count as waiting, like the four queued.
    expect(sim.status(0)).toMatchObject({ inFlight: 1, queueDepth: 7, batchOccupancy: 1 });
    const events = sim.advance(Number.POSITIVE_INFINITY);
    const ttft = firstTokens(events);
    const firstWave = [0, 1, 2, 3].map((i) => ttft.get(`j${i}`)!);
    const secondWave = [4, 5, 6, 7].map((i) => ttft.get(`j${i}`)!);
    expect(Math.min(...secondWave)).toBeGreaterThan(Math.max(...firstWave));
    const queueMs = new Map(completed(events).map((e) => [e.jobId, e.timings.queueMs]));
    expect(queueMs.get('j4')!).toBeGreaterThan(0);
    expect(completed(events)).toHaveLength(8);
  });

  it('decodes a shared batch more slowly per job than a lone job', () => {
    const alone = makeSim();
    alone.submit(job('a', 100, 500), 0);
    const aloneMs = nth(completed(alone.advance(Number.POSITIVE_INFINITY)), 0).timings.totalMs;
    const shared = makeSim();
    shared.submit(job('a', 100, 500), 0);
    for (let i = 0; i < 63; i++) shared.submit(job(`b${i}`, 100, 500), 50);
    const sharedMs = completed(shared.advance(Number.POSITIVE_INFINITY)).find((e) => e.jobId === 'a')!.timings.totalMs;
    expect(sharedMs).toBeGreaterThan(aloneMs * 1.05);
  });

  it('reaches the aggregate decode rate of decodeStepMs at a full batch', () => {
    const sim = makeSim();
    for (let i = 0; i < 512; i++) sim.submit(job(`j${i}`, 1, 2001), 0);
    const done = completed(sim.advance(Number.POSITIVE_INFINITY));
    const lastMs = Math.max(...done.map((e) => e.atMs));
    const tokensPerSecond = (512 * 2000) / (lastMs / 1000);
    expect(tokensPerSecond / ((512 / decodeStepMs(h100, small, 512)) * 1000)).toBeCloseTo(1, 2);
  });

  it('admits high, then normal, then low priority, FIFO within one', () => {
    const sim = makeSim({ maxBatchSize: 1 });
    sim.submit(job('blocker'), 0);
    sim.submit(job('low', 1000, 100, { priority: 'low' }), 0);
    sim.submit(job('normal-1'), 0);
    sim.submit(job('high', 1000, 100, { priority: 'high' }), 0);
    sim.submit(job('normal-2', 1000, 100, { priority: 'normal' }), 0);
    const order = completed(sim.advance(Number.POSITIVE_INFINITY)).map((e) => e.jobId);
    expect(order).toEqual(['blocker', 'high', 'normal-1', 'normal-2', 'low']);
  });

  it('answers NO_CAPACITY when the queue is full, and accepts again once it drains', () => {
    const sim = makeSim({ maxBatchSize: 1, maxQueueDepth: 2 });
    expect(sim.submit(job('a'), 0).ok).toBe(true);
    expect(sim.submit(job('b'), 0).ok).toBe(true);
    expect(sim.submit(job('c'), 0).ok).toBe(true);
    const refused = sim.submit(job('d', 1000, 100, { priority: 'high' }), 0);
    expect(refused).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
    expect(sim.jobCount).toBe(3);
    const events = sim.advance(Number.POSITIVE_INFINITY);
    expect(completed(events).map((e) => e.jobId)).toEqual(['a', 'b', 'c']);
    expect(sim.submit(job('d'), sim.timeMs).ok).toBe(true);
  });

  it('with a queue depth of 0 accepts only what it can admit at once', () => {
    const sim = makeSim({ maxBatchSize: 1, maxQueueDepth: 0 });
    expect(sim.submit(job('a'), 0)).toEqual({ ok: true, queueDepth: 0 });
    expect(sim.submit(job('b'), 0)).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
  });

  it('answers UNKNOWN_MODEL for unknown or unsupported models, NO_CAPACITY for a job larger than HBM', () => {
    const sim = makeSim();
    expect(sim.submit({ ...job('a'), model: 'gpt-9' }, 0)).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
    const l4 = makeSim({ hardware: { profile: getProfile('l4')!, chipCount: 1 } });
    expect(l4.submit({ ...job('a'), model: 'llama-3.3-70b' }, 0)).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
    // 8 GB of KV room after 16 GB of weights: 100k tokens need 13 GB.
    expect(l4.submit(job('b', 100_000, 10), 0)).toMatchObject({ ok: false, code: 'NO_CAPACITY' });
    expect(l4.jobCount).toBe(0);
  });

  it('throws on a duplicate live id or bad token counts, and allows reuse after completion', () => {
    const sim = makeSim();
    sim.submit(job('a'), 0);
    expect(() => sim.submit(job('a'), 0)).toThrow(TypeError);
    expect(() => sim.submit(job('b', -1), 0)).toThrow(RangeError);
    expect(() => sim.submit(job('b', 10, 0), 0)).toThrow(RangeError);
    expect(() => sim.submit(job('b', 1.5), 0)).toThrow(RangeError);
    sim.advance(Number.POSITIVE_INFINITY);
    expect(sim.submit(job('a'), sim.timeMs).ok).toBe(true);
  });
});

describe('SimulatedAccelerator: models', () => {
  it('counts a cold start in the job timings', () => {
    const sim = makeSim({ preloadedModels: [] });
    sim.submit(job('a', 1000, 10), 0);
    const loadMs = modelLoadMs(h100, small);
    expect(sim.status(1)).toMatchObject({ models: [{ name: 'llama-3.1-8b', state: 'loading' }], inFlight: 1 });
    expect(sim.status(1).hbmUsedBytes).toBe(16e9 + kvBytes(small, 1010));
    const events = sim.advance(Number.POSITIVE_INFINITY);
    expect(events[0]).toEqual({ kind: 'model-loaded', model: 'llama-3.1-8b', atMs: loadMs });
    const done = nth(completed(events), 0);
    expect(done.timings.loadMs).toBeCloseTo(loadMs, 9);
    expect(done.timings.queueMs).toBeCloseTo(0, 9);
    expect(done.timings.ttftMs).toBeCloseTo(loadMs + prefillMs(h100, small, 1000), 9);
    expect(sim.status(sim.timeMs).hbmUsedBytes).toBe(16e9);
  });

  // Two 50 GB models cannot share a 4 × L4 node (96 GB).
  const big = [
    { name: 'a', sizeClass: 'small', weightBytes: 50e9, kvBytesPerToken: 1000 },
    { name: 'b', sizeClass: 'small', weightBytes: 50e9, kvBytesPerToken: 1000 },
  ] as const;
  const l4x4 = { hardware: { profile: getProfile('l4')!, chipCount: 4 }, models: createModelCatalog(big) };

  it('evicts an idle model to load another', () => {
    const sim = makeSim({ ...l4x4, preloadedModels: ['a'] });
    sim.submit({ id: 'on-a', model: 'a', inputTokens: 100, maxOutputTokens: 5 }, 0);
    sim.advance(Number.POSITIVE_INFINITY);
    const t = sim.timeMs;
    sim.submit({ id: 'on-b', model: 'b', inputTokens: 100, maxOutputTokens: 5 }, t);
    expect(sim.status(t).models).toEqual([{ name: 'b', state: 'loading' }]);
    const events = sim.advance(Number.POSITIVE_INFINITY);
    expect(events[0]).toMatchObject({ kind: 'model-loaded', model: 'b' });
    expect(nth(completed(events), 0).timings.loadMs).toBeCloseTo(modelLoadMs(l4x4.hardware, big[1]), 6);
  });

  it('waits for a busy model to go idle before evicting it', () => {
    const sim = makeSim({ ...l4x4, preloadedModels: ['a'] });
    sim.submit({ id: 'on-a', model: 'a', inputTokens: 100, maxOutputTokens: 200 }, 0);
    sim.submit({ id: 'on-b', model: 'b', inputTokens: 100, maxOutputTokens: 5 }, 1);
    expect(sim.status(1)).toMatchObject({ queueDepth: 1, inFlight: 1, models: [{ name: 'a', state: 'loaded' }] });
    const events = sim.advance(Number.POSITIVE_INFINITY);
    expect(events.map((e) => (e.kind === 'model-loaded' ? `loaded ${e.model}` : `${e.kind} ${e.jobId}`))).toEqual([
      'first-token on-a',
      'completed on-a',
      'loaded b',
      'first-token on-b',
      'completed on-b',
    ]);
    const aDone = nth(completed(events), 0);
    const bDone = nth(completed(events), 1);
    expect(bDone.timings.queueMs).toBeCloseTo(aDone.atMs - 1, 6);
  });

  it('refuses a preload it cannot serve or hold', () => {
    expect(() => makeSim({ preloadedModels: ['nope'] })).toThrow(TypeError);
    expect(() => makeSim({ ...l4x4, preloadedModels: ['a', 'b'] })).toThrow(RangeError);
  });
});

describe('SimulatedAccelerator: cancel', () => {
  it('frees the slot of a running job and emits nothing for it', () => {
    const sim = makeSim({ maxBatchSize: 1 });
    sim.submit(job('long', 1000, 5000), 0);
    sim.submit(job('next', 1000, 10), 0);
    expect(sim.status(100)).toMatchObject({ inFlight: 1, queueDepth: 1 });
    expect(sim.cancel('long', 100)).toBe(true);
    expect(sim.status(100)).toMatchObject({ inFlight: 1, queueDepth: 0 });
    const events = [...sim.advance(Number.POSITIVE_INFINITY)];
    expect(completed(events).map((e) => e.jobId)).toEqual(['next']);
    expect(nth(completed(events), 0).timings.queueMs).toBeCloseTo(100, 6);
    expect(sim.cancel('long', sim.timeMs)).toBe(false);
    expect(sim.cancel('next', sim.timeMs)).toBe(false);
    expect(sim.status(sim.timeMs).hbmUsedBytes).toBe(16e9);
  });

  it.each([
    ['queued', 0.001],
    ['waiting for prefill', 0.001],
    ['prefilling', 0.001],
    ['decoding', 200],
  ] as const)('drops a job while %s; the others still finish', (phase, atMs) => {
    const sim = makeSim({ maxBatchSize: 3 });
    for (const id of ['p', 'w', 'x', 'q']) sim.submit(job(id, 1000, 100), 0);
    // At 0.001 ms: p prefills, w and x wait for prefill, q is queued. At 200 ms all of p, w, x decode.
    const victim = { queued: 'q', 'waiting for prefill': 'w', prefilling: 'p', decoding: 'w' }[phase];
    expect(sim.cancel(victim, atMs)).toBe(true);
    const done = completed(sim.advance(Number.POSITIVE_INFINITY)).map((e) => e.jobId);
    expect(done.toSorted()).toEqual(['p', 'q', 'w', 'x'].filter((id) => id !== victim));
    expect(sim.jobCount).toBe(0);
  });

  it('drops a job waiting for its model to load', () => {
    const sim = makeSim({ preloadedModels: [] });
    sim.submit(job('a'), 0);
    sim.submit(job('b'), 0);
    expect(sim.cancel('a', 10)).toBe(true);
    const events = sim.advance(Number.POSITIVE_INFINITY);
    expect(completed(events).map((e) => e.jobId)).toEqual(['b']);
  });
});

describe('SimulatedAccelerator: energy, time and determinism', () => {
  it('attributes energy so that the jobs sum to the integral of active power', () => {
    const sim = makeSim({ jitter: 0.03, seed: 5 });
    const rng = createRng(77);
    let now = 0;
    let integralJ = 0;
    const events: SimEvent[] = [];
    let submitted = 0;
    let nextArrival = 0;
    // Walk event to event, summing draw × time while any job is in flight (all of them are active:
    // the model is preloaded, so an admitted job is prefilling, decoding, or behind a busy prefill).
    for (;;) {
      const nextEvent = sim.nextEventAtMs();
      const arrivalDue = submitted < 200 ? nextArrival : Number.POSITIVE_INFINITY;
      const t = Math.min(nextEvent ?? Number.POSITIVE_INFINITY, arrivalDue);
      if (t === Number.POSITIVE_INFINITY) break;
      const st = sim.status(now);
      if (st.inFlight > 0) integralJ += (st.powerDrawWatts * (t - now)) / 1000;
      now = t;
      if (t === arrivalDue) {
        sim.submit(job(`j${submitted++}`, 100 + Math.floor(rng() * 2000), 1 + Math.floor(rng() * 400)), t);
        nextArrival = t + rng() * 30;
      }
      events.push(...sim.advance(t));
    }
    const attributedJ = completed(events).reduce((sum, e) => sum + e.energyJoules, 0);
    expect(completed(events)).toHaveLength(200);
    expect(attributedJ / integralJ).toBeCloseTo(1, 9);
  });

  it('does not attribute idle power', () => {
    const sim = makeSim();
    sim.submit(job('a', 100, 10), 10_000);
    const done = nth(completed(sim.advance(Number.POSITIVE_INFINITY)), 0);
    const atMostFullPower = (5600 * done.timings.totalMs) / 1000;
    expect(done.energyJoules).toBeLessThan(atMostFullPower);
  });

  it('replays identically for the same seed and differs for another', () => {
    const a = runWorkload(7, 500, 5);
    const b = runWorkload(7, 500, 5);
    const c = runWorkload(8, 500, 5);
    expect(completed(a)).toHaveLength(500);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('holds events produced inside submit/status until advance, and ignores time going backwards', () => {
    const sim = makeSim();
    sim.submit(job('a', 100, 2), 0);
    sim.status(5_000);
    expect(sim.nextEventAtMs()).toBeLessThan(5_000);
    expect(sim.advance(1_000).map((e) => e.kind)).toEqual(['first-token', 'completed']);
    expect(sim.advance(2_000)).toEqual([]);
    expect(sim.timeMs).toBe(5_000);
    sim.submit(job('b', 100, 2), 3_000); // counts as 5 000
    const events = sim.advance(6_000);
    expect(nth(completed(events), 0).timings.ttftMs).toBeCloseTo(prefillMs(h100, small, 100), 9);
    expect(nth(events, 0).atMs).toBeGreaterThan(5_000);
    expect(() => sim.advance(Number.NaN)).toThrow(RangeError);
  });

  it('reports HBM, power and temperature consistent with the load', () => {
    const sim = makeSim();
    const idle = sim.status(0);
    expect(idle).toMatchObject({ inFlight: 0, hbmUsedBytes: 16e9, powerDrawWatts: 67 * 8, powerLimitWatts: 5600 });
    for (let i = 0; i < 10; i++) sim.submit(job(`j${i}`, 1000, 1000), 0);
    const busy = sim.status(1);
    expect(busy.hbmUsedBytes).toBe(16e9 + 10 * kvBytes(small, 2000));
    expect(busy.powerDrawWatts).toBeGreaterThan(idle.powerDrawWatts);
    expect(busy.temperatureC).toBeGreaterThan(idle.temperatureC);
    expect(busy.batchOccupancy).toBeCloseTo(10 / 2048, 12);
  });
});
