import type { V1Node } from '@kubernetes/client-node';
import type { HostView } from '@switchyard/protocol';

/** Labels read from a Node, newest name first (the `beta` names are still set by older clusters). */
const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
/** GPU Feature Discovery (NVIDIA GPU Operator) labels. */
const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
const GPU_COUNT_LABEL = 'nvidia.com/gpu.count';
/** Extended resources the device plugins advertise in `status.capacity`. */
const DEVICE_RESOURCES = ['nvidia.com/gpu', 'aws.amazon.com/neuron', 'aws.amazon.com/neuroncore'];

/** HostView's bound on label values. */
const MAX_TEXT = 128;

/**
 * What the scheduler keeps of a Node: its drain condition, instance type, zone, region and
 * accelerator. A cordoned Node (`spec.unschedulable`) drains its agents, as `kubectl drain` means;
 * so does one whose Ready condition is not True (kubelet silent or unhealthy): its agents may still
 * reach NATS, but the machine is on its way out. NotReady wins over cordoned when both hold.
 */
export function hostViewOfNode(node: V1Node): HostView | undefined {
  const name = node.metadata?.name;
  if (name === undefined || name === '') return undefined;
  const labels = node.metadata?.labels ?? {};
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  const condition: HostView['condition'] =
    ready?.status !== 'True' ? 'not-ready' : node.spec?.unschedulable === true ? 'cordoned' : 'ready';
  const instanceType = firstLabel(labels, INSTANCE_TYPE_LABELS);
  const zone = firstLabel(labels, ZONE_LABELS);
  const region = firstLabel(labels, REGION_LABELS);
  const accelerator = acceleratorOf(labels, node.status?.capacity ?? {});
  return {
    kubernetesNode: name,
    condition,
    ...(instanceType === undefined ? {} : { instanceType }),
    ...(region === undefined ? {} : { region }),
    ...(zone === undefined ? {} : { zone }),
    ...(accelerator === undefined ? {} : { accelerator }),
  };
}

/** Whether two views say the same (the watcher tells the fleet only about changes). */
export function sameHostView(a: HostView | undefined, b: HostView | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.kubernetesNode === b.kubernetesNode &&
    a.condition === b.condition &&
    a.instanceType === b.instanceType &&
    a.region === b.region &&
    a.zone === b.zone &&
    a.accelerator === b.accelerator
  );
}

function firstLabel(labels: Record<string, string>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = labels[key];
    if (value !== undefined && value !== '') return value.slice(0, MAX_TEXT);
  }
  return undefined;
}

/** `8× NVIDIA-H100-80GB-HBM3` from GPU Feature Discovery, else the device-plugin capacity. */
function acceleratorOf(labels: Record<string, string>, capacity: Record<string, string>): string | undefined {
  const product = labels[GPU_PRODUCT_LABEL];
  if (product !== undefined && product !== '') {
    const count = labels[GPU_COUNT_LABEL] ?? capacity['nvidia.com/gpu'];
    return (count === undefined ? product : `${count}× ${product}`).slice(0, MAX_TEXT);
  }
  for (const resource of DEVICE_RESOURCES) {
    const count = capacity[resource];
    if (count !== undefined && count !== '0') return `${count}× ${resource}`.slice(0, MAX_TEXT);
  }
  return undefined;
}
