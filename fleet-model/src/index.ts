/**
 * @switchyard/fleet-model: accelerator profiles, the model catalogue, latency and power formulas,
 * and the discrete-event simulated accelerator. Pure and deterministic: no I/O, no clock, no Math.random.
 */
export type { AcceleratorProfile, ModelSizeClass, ModelSpec, NodeHardware, SizeClassThroughput } from './types.js';
export { ACCELERATOR_PROFILES, getProfile } from './profiles.js';
export { MODEL_CATALOG, createModelCatalog, getModel } from './models.js';
export type { ModelLookup } from './models.js';
export {
  MIN_KV_HEADROOM_FRACTION,
  decodeSaturationBatch,
  decodeStepMs,
  defaultMaxBatchSize,
  kvBytes,
  modelLoadMs,
  nodeHbmBytes,
  predictServiceMs,
  prefillMs,
  prefillTokensPerMs,
  supportsModel,
} from './latency.js';
export {
  AMBIENT_TEMPERATURE_C,
  DECODE_POWER_FRACTION_BATCH1,
  DECODE_POWER_FRACTION_SATURATED,
  POWER_CAP_SPEED_EXPONENT,
  PREFILL_POWER_FRACTION,
  TEMPERATURE_RISE_AT_PEAK_C,
  clampPowerLimit,
  decodePowerFraction,
  drawnPowerWatts,
  nodePowerWatts,
  powerLimitRange,
  powerSpeedFactor,
  temperatureC,
} from './power.js';
export type { PowerLoad } from './power.js';
export { createRng } from './rng.js';
export { SimulatedAccelerator } from './simulated-accelerator.js';
export { MinHeap } from './min-heap.js';
export type {
  AcceleratorStatus,
  JobTimings,
  Priority,
  SimEvent,
  SimJob,
  SimulatedAcceleratorOptions,
  SubmitOutcome,
} from './simulated-accelerator-types.js';
export { FifoQueue } from './fifo-queue.js';
