/** AWS Trainium and Inferentia through the Neuron tools: neuron-monitor, neuron-ls and the driver's sysfs. */
export {
  type NeuronDeviceUsage,
  type NeuronHardwareInfo,
  type NeuronReport,
  parseNeuronMonitorLine,
  parseNeuronMonitorReport,
} from './neuron-monitor-report.js';
export { type NeuronLsDevice, type NeuronLsRunOptions, parseNeuronLs, runNeuronLs } from './neuron-ls.js';
export {
  DEFAULT_NEURON_SYSFS_ROOT,
  MAX_POWER_SAMPLE_AGE_MS,
  type NeuronPowerUtilization,
  assumedNeuronDeviceMaxWatts,
  neuronPowerDrawWatts,
  neuronPowerUtilizationPath,
  parseNeuronPowerUtilization,
  readNeuronPowerUtilization,
} from './neuron-power.js';
export {
  NeuronMonitorProbe,
  type NeuronMonitorProbeOptions,
  neuronDeviceName,
  neuronMonitorConfig,
} from './neuron-probe.js';
