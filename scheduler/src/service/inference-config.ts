import {
  type AdmissionConfig,
  type AdmissionConfigInput,
  resolveAdmissionConfig,
} from '../core/admission/admission-config.js';

/** Timing knobs of the inference path. */
export interface InferenceServiceConfig {
  /** How long a node has to acknowledge an assignment before we treat it as lost (default 2 s). */
  readonly assignTimeoutMs: number;
  /** Extra time past a deadline before the scheduler itself answers DEADLINE_EXCEEDED (the node usually does). */
  readonly deadlineGraceMs: number;
  /** Hint sent with NO_CAPACITY and OVERLOADED while a queue has no measured drain rate yet. */
  readonly noCapacityRetryAfterMs: number;
  /** Admission control: class queues, tenant weights, waits (defaults: DEFAULT_ADMISSION_CONFIG). */
  readonly admission?: AdmissionConfigInput;
}

export const DEFAULT_INFERENCE_CONFIG: InferenceServiceConfig = {
  assignTimeoutMs: 2_000,
  deadlineGraceMs: 500,
  noCapacityRetryAfterMs: 1_000,
};

/** Bad inference configuration; raised at start-up. */
export class InferenceConfigError extends Error {
  override readonly name = 'InferenceConfigError';
}

/**
 * Checks the inference configuration and resolves its admission section (AdmissionConfigError
 * names every problem there). Call at start-up so that bad configuration fails before serving.
 */
export function validateInferenceConfig(config: InferenceServiceConfig): AdmissionConfig {
  for (const name of ['assignTimeoutMs', 'deadlineGraceMs', 'noCapacityRetryAfterMs'] as const) {
    const value = config[name];
    if (!(value >= 0 && Number.isFinite(value))) {
      throw new InferenceConfigError(`inference.${name} must be a finite number of ms ≥ 0, got ${value}`);
    }
  }
  return resolveAdmissionConfig(config.admission);
}
