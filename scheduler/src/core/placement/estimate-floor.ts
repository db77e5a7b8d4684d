import {
  decodeSaturationBatch,
  type ModelSizeClass,
  type ModelSpec,
  type NodeHardware,
  nodePowerWatts,
  PREFILL_POWER_FRACTION,
  POWER_CAP_SPEED_EXPONENT,
  prefillTokensPerMs,
} from '@switchyard/fleet-model';
import type { Estimate, PlacementRequest } from './types.js';

/**
 * Floors are shrunk by this factor so that they stay below the estimate they bound even where the two
 * round differently (they multiply the same factors in another order); far below the 1e-9 within which
 * scores tie.
 */
const FLOOR_SLACK = 1 - 1e-12;

/** Above this batch size no per-batch energy curve is kept (a misreported limit must not cost megabytes); ranges are bounded coarsely. */
const MAX_TABLE_BATCH = 4096;

/**
 * What a request costs on a node of one size class, per batch size b (1 … B): the prefill rate, the
 * uncapped decode step t1 × (1 + (b − 1) / Bsat), and the uncapped decode energy per output token
 * demand(b) / b × step(b), answering "least energy per token over b = a … c" in O(1): from the
 * minimum's position when the curve falls then rises (the fleet model's curves do, checked here),
 * else from a sparse table. Depends only on the hardware, the batch limit and the size class: built
 * once, never invalidated.
 */
export class DecodeCurve {
  /** Prompt tokens per ms at speed 1 (prefillTokensPerMs). */
  readonly rate: number;
  /** Decode step at batch 1, speed 1 (ms). */
  readonly t1Ms: number;
  readonly saturationBatch: number;
  /** energy[b]: uncapped decode energy per output token at batch b (watt-milliseconds). */
  private readonly energy: Float64Array | undefined;
  /** Where `energy` stops falling and starts rising; −1 when it does not fall then rise. */
  private readonly lowest: number;
  /** table[k × (B + 1) + b]: least energy per token over batches b … b + 2^k − 1 (curves that are not unimodal). */
  private readonly table: Float64Array | undefined;
  private memoRequest: PlacementRequest | undefined;
  private memoPrefillMs = 0;

  constructor(
    private readonly curves: ShapeCurves,
    hardware: NodeHardware,
    model: ModelSpec,
  ) {
    this.rate = prefillTokensPerMs(hardware, model);
    const row = hardware.profile.throughput[model.sizeClass]!;
    this.t1Ms = 1000 / row.decodeTokensPerSecondBatch1;
    this.saturationBatch = decodeSaturationBatch(hardware, model);
    const batchLimit = curves.maxBatchSize;
    if (batchLimit > MAX_TABLE_BATCH) {
      this.energy = undefined;
      this.lowest = -1;
      this.table = undefined;
      return;
    }
    const energy = new Float64Array(batchLimit + 1);
    for (let b = 1; b <= batchLimit; b++) energy[b] = (curves.demandWatts[b]! / b) * this.stepMs(b);
    this.energy = energy;
    this.lowest = fallsThenRises(energy);
    this.table = this.lowest < 0 ? sparseMinTable(energy) : undefined;
  }

  /** The decode step at batch `b` and speed 1: t1 × (1 + (b − 1) / Bsat), as decodeStepMs computes it. */
  stepMs(batch: number): number {
    return this.t1Ms * (1 + (batch - 1) / this.saturationBatch);
  }

  /** The request's prefill at speed 1 (inputTokens / rate), remembered for the last request asked about. */
  prefillMs(request: PlacementRequest): number {
    if (request !== this.memoRequest) {
      this.memoRequest = request;
      this.memoPrefillMs = request.inputTokens / this.rate;
    }
    return this.memoPrefillMs;
  }

  /**
   * A lower bound on the decode energy per output token over batches a … c (1 ≤ a ≤ c ≤ B) under
   * power limit `limitWatts`: exact on uncapped batches, and on capped ones, where the node draws
   * its limit at speed (limit / demand)^0.75, limit^0.25 × demand^0.75 × step / b taken factor by
   * factor at its least.
   */
  minEnergyPerToken(a: number, c: number, limitWatts: number): number {
    const cappedFrom = this.curves.firstCappedBatch(limitWatts);
    let least = Number.POSITIVE_INFINITY;
    const uncappedTo = Math.min(c, cappedFrom - 1);
    if (a <= uncappedTo) least = this.uncappedMin(a, uncappedTo);
    const cappedFromHere = Math.max(a, cappedFrom);
    if (cappedFromHere <= c) {
      const capped =
        (Math.sqrt(Math.sqrt(limitWatts)) * this.curves.demand075[cappedFromHere]! * this.stepMs(cappedFromHere)) / c;
      if (capped < least) least = capped;
    }
    return least;
  }

  private uncappedMin(a: number, c: number): number {
    const energy = this.energy;
    if (energy === undefined) {
      // demand never falls as b grows, nor does the step: each factor at its least.
      return (this.curves.demandWatts[a]! / c) * this.stepMs(a);
    }
    const lowest = this.lowest;
    if (lowest >= 0) return energy[c < lowest ? c : a > lowest ? a : lowest]!;
    const table = this.table!;
    const k = 31 - Math.clz32(c - a + 1);
    const row = k * energy.length;
    return Math.min(table[row + a]!, table[row + c - (1 << k) + 1]!);
  }
}

/** The index where values[1 …] stop falling and start rising, or −1 if they fall again after rising. */
function fallsThenRises(values: Float64Array): number {
  let lowest = values.length - 1;
  for (let b = 2; b < values.length; b++) {
    if (values[b]! > values[b - 1]!) {
      lowest = b - 1;
      for (let r = b + 1; r < values.length; r++) if (values[r]! < values[r - 1]!) return -1;
      break;
    }
  }
  return lowest;
}

/** Range minima of values[1 …] over power-of-two spans: row k holds min(values[b … b + 2^k − 1]). */
function sparseMinTable(values: Float64Array): Float64Array {
  const stride = values.length;
  const depth = 32 - Math.clz32(stride - 1);
  const table = new Float64Array(stride * depth);
  table.set(values);
  for (let k = 1; k < depth; k++) {
    const half = 1 << (k - 1);
    for (let b = 1; b + (1 << k) - 1 < stride; b++) {
      table[k * stride + b] = Math.min(table[(k - 1) * stride + b]!, table[(k - 1) * stride + b + half]!);
    }
  }
  return table;
}

/**
 * The power side of one hardware shape (profile, chips, batch limit): decode demand at each batch size
 * as estimateOn computes it (nodePowerWatts), never falling as the batch grows, and the DecodeCurve of
 * each size class, built on first use.
 */
export class ShapeCurves {
  /** demandWatts[b]: what the node demands decoding b sequences, before any power limit. */
  readonly demandWatts: Float64Array;
  /** demandWatts[b]^0.75, for bounds on capped batches. */
  readonly demand075: Float64Array;
  /** The prefill draw before the power limit. */
  readonly prefillPeakWatts: number;
  private readonly byClass = new Map<ModelSizeClass, DecodeCurve>();
  private memoLimitWatts = Number.NaN;
  private memoCappedFrom = 0;

  constructor(
    private readonly hardware: NodeHardware,
    readonly maxBatchSize: number,
  ) {
    this.demandWatts = new Float64Array(maxBatchSize + 1);
    this.demand075 = new Float64Array(maxBatchSize + 1);
    for (let b = 0; b <= maxBatchSize; b++) {
      const watts = nodePowerWatts(hardware, { prefillActive: false, decodeBatch: b, maxBatchSize });
      this.demandWatts[b] = watts;
      this.demand075[b] = watts ** POWER_CAP_SPEED_EXPONENT;
    }
    this.prefillPeakWatts = PREFILL_POWER_FRACTION * hardware.profile.peakWattsPerChip * hardware.chipCount;
  }

  /** The curve for the model's size class, or undefined when the profile has no figures for it. */
  forModel(model: ModelSpec): DecodeCurve | undefined {
    let curve = this.byClass.get(model.sizeClass);
    if (curve === undefined) {
      if (this.hardware.profile.throughput[model.sizeClass] === undefined) return undefined;
      curve = new DecodeCurve(this, this.hardware, model);
      this.byClass.set(model.sizeClass, curve);
    }
    return curve;
  }

  /** The least batch b ≥ 1 whose demand exceeds `limitWatts` (B + 1 when none does). */
  firstCappedBatch(limitWatts: number): number {
    const demand = this.demandWatts;
    if (limitWatts >= demand[this.maxBatchSize]!) return this.maxBatchSize + 1;
    if (limitWatts === this.memoLimitWatts) return this.memoCappedFrom;
    let low = 1;
    let high = this.maxBatchSize + 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (demand[mid]! > limitWatts) high = mid;
      else low = mid + 1;
    }
    this.memoLimitWatts = limitWatts;
    this.memoCappedFrom = low;
    return low;
  }

  /** The speed factor at batch `b` under `limitWatts`, as estimateOn computes it (powerSpeedFactor). */
  speedAt(batch: number, limitWatts: number): number {
    const demand = this.demandWatts[batch]!;
    return demand <= limitWatts ? 1 : (limitWatts / demand) ** POWER_CAP_SPEED_EXPONENT;
  }
}

/** What a floor is taken over besides load: the nodes' cluster round trip, cold start and power limit. */
export interface FloorSetting {
  readonly networkMs: number;
  readonly coldStart: boolean;
  readonly loadMs: number;
  /**
   * The least power limit among the nodes (Infinity when unlimited): energy falls as the limit
   * tightens, so energy floors take the least.
   */
  readonly limitWatts: number;
  /** Whether every node has exactly `limitWatts`; if not, speeds are bounded by 1 (no cap). */
  readonly exactLimit: boolean;
}

/**
 * A field-wise lower bound of estimateOn over a set of nodes of one shape: every duration, the energy
 * and the power delta are at most what estimateOn predicts for any node in the set. Mutable and reused,
 * so that bounding allocates nothing. Scorers declared `estimateMonotone` score it as a candidate's
 * estimate to bound the set.
 */
export class EstimateFloor implements Estimate {
  coldStart = false;
  networkMs = 0;
  loadMs = 0;
  queueWaitMs = 0;
  prefillMs = 0;
  ttftMs = 0;
  decodeMs = 0;
  totalMs = 0;
  energyJoules = 0;
  powerDeltaWatts = 0;

  /**
   * Nodes with a free batch slot, load lo … hi and prefill backlog ≥ `backlog`. Prefill and decode
   * never get faster as load grows (demand rises, so a cap bites harder), and the decode energy per
   * token is minimised over the range.
   */
  fillRange(
    curves: ShapeCurves,
    curve: DecodeCurve,
    request: PlacementRequest,
    lo: number,
    hi: number,
    backlog: number,
    setting: FloorSetting,
  ): this {
    const speed = setting.exactLimit ? curves.speedAt(lo + 1, setting.limitWatts) : 1;
    const outputSteps = Math.max(0, request.maxOutputTokens - 1);
    const prefillMs = curve.prefillMs(request) / speed;
    const decodeMs = (outputSteps * curve.stepMs(lo + 1)) / speed;
    const decodeEnergy = outputSteps * curve.minEnergyPerToken(lo + 1, hi + 1, setting.limitWatts);
    return this.fill(curves, setting, prefillMs, backlog * prefillMs, decodeMs, decodeEnergy);
  }

  /**
   * Nodes with a full batch (batch = B) and prefill backlog ≥ `backlog`; `slotWaitMs` is a lower bound
   * on the wait for a free slot (0 when unknown).
   */
  fillSaturated(
    curves: ShapeCurves,
    curve: DecodeCurve,
    request: PlacementRequest,
    backlog: number,
    slotWaitMs: number,
    setting: FloorSetting,
  ): this {
    const batch = curves.maxBatchSize;
    const speed = setting.exactLimit ? curves.speedAt(batch, setting.limitWatts) : 1;
    const outputSteps = Math.max(0, request.maxOutputTokens - 1);
    const prefillMs = curve.prefillMs(request) / speed;
    const decodeMs = (outputSteps * curve.stepMs(batch)) / speed;
    const decodeEnergy = outputSteps * curve.minEnergyPerToken(batch, batch, setting.limitWatts);
    return this.fill(curves, setting, prefillMs, slotWaitMs + backlog * prefillMs, decodeMs, decodeEnergy);
  }

  /** Lowers every field to `other`'s where that is lower: a floor over the union of both sets. */
  lowerTo(other: Estimate): this {
    this.coldStart &&= other.coldStart;
    this.networkMs = Math.min(this.networkMs, other.networkMs);
    this.loadMs = Math.min(this.loadMs, other.loadMs);
    this.queueWaitMs = Math.min(this.queueWaitMs, other.queueWaitMs);
    this.prefillMs = Math.min(this.prefillMs, other.prefillMs);
    this.ttftMs = Math.min(this.ttftMs, other.ttftMs);
    this.decodeMs = Math.min(this.decodeMs, other.decodeMs);
    this.totalMs = Math.min(this.totalMs, other.totalMs);
    this.energyJoules = Math.min(this.energyJoules, other.energyJoules);
    this.powerDeltaWatts = Math.min(this.powerDeltaWatts, other.powerDeltaWatts);
    return this;
  }

  private fill(
    curves: ShapeCurves,
    setting: FloorSetting,
    prefillMs: number,
    queueWaitMs: number,
    decodeMs: number,
    decodeEnergy: number,
  ): this {
    const prefillWatts = Math.min(setting.limitWatts, curves.prefillPeakWatts);
    this.coldStart = setting.coldStart;
    this.networkMs = setting.networkMs * FLOOR_SLACK;
    this.loadMs = setting.loadMs * FLOOR_SLACK;
    this.queueWaitMs = queueWaitMs * FLOOR_SLACK;
    this.prefillMs = prefillMs * FLOOR_SLACK;
    this.ttftMs = (setting.networkMs + setting.loadMs + queueWaitMs + prefillMs) * FLOOR_SLACK;
    this.decodeMs = decodeMs * FLOOR_SLACK;
    this.totalMs = this.ttftMs + this.decodeMs;
    this.energyJoules = ((prefillWatts * prefillMs + decodeEnergy) / 1000) * FLOOR_SLACK;
    this.powerDeltaWatts = 0;
    return this;
  }
}
