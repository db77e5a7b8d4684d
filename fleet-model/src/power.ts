/**
 * Power model: what a node draws for a given load, what a power cap costs in speed, and the
 * temperature that follows. Figures from shared/ACCELERATORS.md (Power):
 * - Decode is memory-bound and draws well under TDP: an H100 at TP8 draws ≈ 300 W at batch 1, ≈ 480 W
 *   at batch 32 and ≈ 600 W at batch 128 (ML.ENERGY via vLLM semantic-router; secondary), i.e.
 *   ≈ 0.43 × TDP rising to ≈ 0.86 × TDP. We interpolate on log(batch), which fits those three points
 *   within ≈ 0.05 × TDP, reaching 0.86 at the engine's batch limit.
 * - Prefill is compute-bound and draws near TDP: 0.95 × TDP. Prefill and decode together draw the
 *   larger of the two (the board cannot exceed its own ceiling).
 * - Idle: ≈ 67 W for an H100 (DCGM scrape); other profiles state theirs.
 */
import type { NodeHardware } from './types.js';

/** Fraction of TDP a chip draws decoding at batch 1. */
export const DECODE_POWER_FRACTION_BATCH1 = 0.43;
/** Fraction of TDP a chip draws decoding near its batch limit. */
export const DECODE_POWER_FRACTION_SATURATED = 0.86;
/** Fraction of TDP a chip draws while prefilling (compute-bound). */
export const PREFILL_POWER_FRACTION = 0.95;
/**
 * Exponent of the throughput-vs-cap law speed = (limit / demand)^k. MLPerf: 8×H100 capped at 450 W
 * per GPU gave 17,562 tok/s offline (v4.0) against 24,525 uncapped (v4.1) on Llama 2 70B. An offline
 * run demands ≈ TDP (700 W), so k = ln(17,562 / 24,525) / ln(450 / 700) = 0.755 ≈ 0.75. Sub-linear
 * because clocks fall faster than voltage and memory-bound phases lose less than compute-bound ones.
 * Check: the 8×H200 "MaxQ" run's 0.807 of uncapped then implies a cap ≈ 0.75 × demand, plausible.
 */
export const POWER_CAP_SPEED_EXPONENT = 0.75;
/** Steady-state temperature at zero draw (°C): a cooled data-centre inlet plus board offset. */
export const AMBIENT_TEMPERATURE_C = 30;
/** Temperature rise from zero to peak draw (°C); 75 °C at TDP matches air-cooled boards under load. */
export const TEMPERATURE_RISE_AT_PEAK_C = 45;

/** The load a node carries at one instant, as the power model needs it. */
export interface PowerLoad {
  /** Whether a prefill is running. */
  readonly prefillActive: boolean;
  /** Sequences decoding. */
  readonly decodeBatch: number;
  /** The engine's batch limit, where decode draw reaches its saturated fraction. */
  readonly maxBatchSize: number;
}

/** Fraction of TDP one chip draws decoding `decodeBatch` sequences out of at most `maxBatchSize`. */
export function decodePowerFraction(decodeBatch: number, maxBatchSize: number): number {
  if (decodeBatch <= 0) return 0;
  const span = DECODE_POWER_FRACTION_SATURATED - DECODE_POWER_FRACTION_BATCH1;
  const progress = maxBatchSize > 1 ? Math.min(1, Math.log(Math.max(1, decodeBatch)) / Math.log(maxBatchSize)) : 1;
  return DECODE_POWER_FRACTION_BATCH1 + span * progress;
}

/** Watts the whole node demands under `load` (before any power cap); idle draw when nothing runs. */
export function nodePowerWatts(hw: NodeHardware, load: PowerLoad): number {
  const { idleWattsPerChip, peakWattsPerChip } = hw.profile;
  const fraction = Math.max(
    load.prefillActive ? PREFILL_POWER_FRACTION : 0,
    decodePowerFraction(load.decodeBatch, load.maxBatchSize),
  );
  return Math.max(idleWattsPerChip, fraction * peakWattsPerChip) * hw.chipCount;
}

/**
 * Speed multiplier a power cap imposes: 1 when demand ≤ limit, else (limit / demand)^0.75
 * (see POWER_CAP_SPEED_EXPONENT). Throws RangeError on a non-positive limit, which no clamped
 * configuration produces.
 */
export function powerSpeedFactor(demandWatts: number, limitWatts: number): number {
  if (!(limitWatts > 0)) throw new RangeError(`power limit must be positive, got ${limitWatts}`);
  if (demandWatts <= limitWatts) return 1;
  return (limitWatts / demandWatts) ** POWER_CAP_SPEED_EXPONENT;
}

/** Watts actually drawn under a cap: the demand, or the limit when the demand exceeds it. */
export function drawnPowerWatts(demandWatts: number, limitWatts: number): number {
  return Math.min(demandWatts, limitWatts);
}

/** Steady-state temperature (°C) of a node drawing `drawWatts`: linear from ambient to +45 °C at peak. */
export function temperatureC(hw: NodeHardware, drawWatts: number): number {
  const peak = hw.profile.peakWattsPerChip * hw.chipCount;
  return AMBIENT_TEMPERATURE_C + (TEMPERATURE_RISE_AT_PEAK_C * Math.max(0, drawWatts)) / peak;
}

/** Node-wide power limits the hardware accepts, in watts. */
export function powerLimitRange(hw: NodeHardware): { minWatts: number; maxWatts: number } {
  return {
    minWatts: hw.profile.minPowerLimitWattsPerChip * hw.chipCount,
    maxWatts: hw.profile.peakWattsPerChip * hw.chipCount,
  };
}

/** `watts` clamped into powerLimitRange(hw); NaN is refused since it has no sensible clamp. */
export function clampPowerLimit(hw: NodeHardware, watts: number): number {
  if (Number.isNaN(watts)) throw new RangeError('power limit must be a number, got NaN');
  const { minWatts, maxWatts } = powerLimitRange(hw);
  return Math.min(maxWatts, Math.max(minWatts, watts));
}
