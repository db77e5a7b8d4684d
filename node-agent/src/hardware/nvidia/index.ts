export * from './nvidia-smi-csv.js';
export * from './nvidia-smi-list.js';
export * from './nvidia-probe.js';
export * from './nvidia-power.js';
export {
  DEFAULT_NVIDIA_SMI_BINARY,
  DEFAULT_NVIDIA_SMI_TIMEOUT_MS,
  describeNvidiaSmiFailure,
  runNvidiaSmi,
  type NvidiaSmiRun,
  type RunNvidiaSmiOptions,
} from './run-nvidia-smi.js';
