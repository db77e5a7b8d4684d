import { createHash } from 'node:crypto';

/**
 * Realistic `v1.Node` objects (JSON wire form) for tests against the fake API server: what the kubelet, the
 * cloud provider, the device plugins and NVIDIA GPU Feature Discovery put on real nodes.
 * - Conditions and their reasons/messages are the kubelet's (pkg/kubelet/nodestatus/setters.go).
 * - EKS labels: well-known labels (kubernetes.io/docs/reference/labels-annotations-taints/) plus the managed
 *   node group's `eks.amazonaws.com/*` and `topology.k8s.aws/zone-id`; Neuron resources are the Neuron device
 *   plugin's `aws.amazon.com/neuron` (devices) and `aws.amazon.com/neuroncore` (logical cores; Trainium2
 *   defaults to 2 physical cores per logical core, so 16 chips × 8 / 2 = 64).
 * - GPU Feature Discovery labels (github.com/NVIDIA/k8s-device-plugin, docs/gpu-feature-discovery,
 *   "Generated Labels"): `nvidia.com/gpu.memory` is in MiB.
 */

/** A node taint (`v1.Taint`). */
export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** One `v1.NodeCondition`. */
export interface NodeCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastHeartbeatTime: string;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

/** A `v1.Node` as JSON, the fields these builders set. */
export interface NodeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
  readonly metadata: {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: {
    readonly providerID?: string;
    readonly unschedulable?: boolean;
    readonly taints?: readonly NodeTaint[];
  };
  readonly status: {
    readonly capacity: Readonly<Record<string, string>>;
    readonly allocatable: Readonly<Record<string, string>>;
    readonly conditions: readonly NodeCondition[];
    readonly addresses: readonly { readonly type: string; readonly address: string }[];
    readonly nodeInfo: Readonly<Record<string, string>>;
  };
}

/** What a test may vary on any preset node. */
export interface NodeObjectOptions {
  /** Node name; presets derive one from `internalIp` the way their platform does. */
  readonly name?: string;
  /** The Ready condition (default true). */
  readonly ready?: boolean;
  /** spec.unschedulable, as `kubectl cordon` sets it (default false: the field is absent). */
  readonly unschedulable?: boolean;
  /** Labels added over (and overriding) the preset's. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly NodeTaint[];
  readonly internalIp?: string;
  /** Availability zone, for cloud presets. */
  readonly zone?: string;
  /** When the conditions were last reported (default: now). */
  readonly now?: Date;
}

/** The parts of a node that differ between hardware presets. */
export interface NodeHardware {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly providerID?: string;
  readonly hostname: string;
  readonly internalIp: string;
  readonly capacity: Readonly<Record<string, string>>;
  readonly allocatable: Readonly<Record<string, string>>;
  readonly nodeInfo: Readonly<Record<string, string>>;
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A stable id-like hex string from a seed, so that the same node name always gets the same ids. */
function stableHex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function nodeConditions(ready: boolean, now: Date): NodeCondition[] {
  const at = rfc3339(now);
  const healthy = (type: string, reason: string, message: string): NodeCondition => ({
    type,
    status: 'False',
    lastHeartbeatTime: at,
    lastTransitionTime: at,
    reason,
    message,
  });
  return [
    healthy('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    healthy('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    healthy('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      lastHeartbeatTime: at,
      lastTransitionTime: at,
      reason: ready ? 'KubeletReady' : 'KubeletNotReady',
      message: ready
        ? 'kubelet is posting ready status'
        : 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
    },
  ];
}

/** Assembles a Node from hardware facts and test options (labels from options win). */
export function buildNodeObject(hardware: NodeHardware, options: NodeObjectOptions = {}): NodeObject {
  const spec = {
    ...(hardware.providerID === undefined ? {} : { providerID: hardware.providerID }),
    ...(options.unschedulable === true ? { unschedulable: true } : {}),
    ...(options.taints === undefined || options.taints.length === 0 ? {} : { taints: options.taints }),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: hardware.name,
      labels: { ...hardware.labels, ...options.labels },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...hardware.annotations,
      },
    },
    spec,
    status: {
      capacity: hardware.capacity,
      allocatable: hardware.allocatable,
      conditions: nodeConditions(options.ready ?? true, options.now ?? new Date()),
      addresses: [
        { type: 'InternalIP', address: hardware.internalIp },
        { type: 'Hostname', address: hardware.hostname },
      ],
      nodeInfo: hardware.nodeInfo,
    },
  };
}

/** An AWS EKS managed-node-group trn2.48xlarge (16 Trainium2 chips) in us-east-2. */
export function eksTrn2Node(options: NodeObjectOptions = {}): NodeObject {
  const internalIp = options.internalIp ?? '10.0.17.42';
  const zone = options.zone ?? 'us-east-2b';
  const region = zone.slice(0, -1);
  const name = options.name ?? `ip-${internalIp.replaceAll('.', '-')}.${region}.compute.internal`;
  const instanceType = 'trn2.48xlarge';
  const labels = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': instanceType,
    'beta.kubernetes.io/os': 'linux',
    'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    'eks.amazonaws.com/nodegroup': 'trn2-inference',
    'eks.amazonaws.com/nodegroup-image': `ami-0${stableHex('ami', 16)}`,
    'failure-domain.beta.kubernetes.io/region': region,
    'failure-domain.beta.kubernetes.io/zone': zone,
    'k8s.io/cloud-provider-aws': stableHex('cluster', 32),
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': instanceType,
    'topology.k8s.aws/zone-id': `use2-az${zone.endsWith('a') ? 1 : zone.endsWith('b') ? 2 : 3}`,
    'topology.kubernetes.io/region': region,
    'topology.kubernetes.io/zone': zone,
  };
  const accelerators = {
    'aws.amazon.com/neuron': '16',
    'aws.amazon.com/neuroncore': '64',
    'vpc.amazonaws.com/efa': '16',
  };
  return buildNodeObject(
    {
      name,
      labels,
      annotations: { 'alpha.kubernetes.io/provided-node-ip': internalIp },
      providerID: `aws:///${zone}/i-0${stableHex(name, 16)}`,
      hostname: name,
      internalIp,
      capacity: {
        cpu: '192',
        'ephemeral-storage': '524275692Ki',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: '2113928316Ki',
        pods: '250',
        ...accelerators,
      },
      allocatable: {
        cpu: '191450m',
        'ephemeral-storage': '482098735124',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: '2085483132Ki',
        pods: '250',
        ...accelerators,
      },
      nodeInfo: {
        machineID: stableHex(`${name}/machine`, 32),
        systemUUID: `ec2${stableHex(`${name}/uuid`, 5)}-${stableHex(`${name}/uuid2`, 4)}-${stableHex(`${name}/uuid3`, 4)}-${stableHex(`${name}/uuid4`, 4)}-${stableHex(`${name}/uuid5`, 12)}`,
        bootID: stableHex(`${name}/boot`, 32),
        kernelVersion: '6.1.134-152.225.amzn2023.x86_64',
        osImage: 'Amazon Linux 2023.7.20250512',
        containerRuntimeVersion: 'containerd://1.7.27',
        kubeletVersion: 'v1.32.3-eks-473151a',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
    options,
  );
}

/** An on-premises NVIDIA DGX H100 (8 × H100 80GB HBM3) labelled by GPU Feature Discovery and NFD. */
export function gfdH100Node(options: NodeObjectOptions = {}): NodeObject {
  const internalIp = options.internalIp ?? '192.168.40.11';
  const name = options.name ?? `dgx-h100-${internalIp.split('.').at(-1) ?? '0'}`;
  const now = options.now ?? new Date();
  const labels = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'feature.node.kubernetes.io/pci-10de.present': 'true',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'nvidia.com/cuda.driver-version.full': '550.127.05',
    'nvidia.com/cuda.driver.major': '550',
    'nvidia.com/cuda.driver.minor': '127',
    'nvidia.com/cuda.driver.rev': '05',
    'nvidia.com/cuda.runtime-version.full': '12.4',
    'nvidia.com/cuda.runtime.major': '12',
    'nvidia.com/cuda.runtime.minor': '4',
    'nvidia.com/gfd.timestamp': String(Math.floor(now.getTime() / 1000)),
    'nvidia.com/gpu.compute.major': '9',
    'nvidia.com/gpu.compute.minor': '0',
    'nvidia.com/gpu.count': '8',
    'nvidia.com/gpu.family': 'hopper',
    'nvidia.com/gpu.machine': 'DGXH100',
    'nvidia.com/gpu.memory': '81559',
    'nvidia.com/gpu.mode': 'compute',
    'nvidia.com/gpu.present': 'true',
    'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3',
    'nvidia.com/gpu.replicas': '1',
    'nvidia.com/gpu.sharing-strategy': 'none',
    'nvidia.com/mig.capable': 'true',
    'nvidia.com/mps.capable': 'false',
  };
  return buildNodeObject(
    {
      name,
      labels,
      hostname: name,
      internalIp,
      capacity: {
        cpu: '224',
        'ephemeral-storage': '1844244028Ki',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: '2113389168Ki',
        'nvidia.com/gpu': '8',
        pods: '110',
      },
      allocatable: {
        cpu: '224',
        'ephemeral-storage': '1699647281318',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': '0',
        memory: '2113286768Ki',
        'nvidia.com/gpu': '8',
        pods: '110',
      },
      nodeInfo: {
        machineID: stableHex(`${name}/machine`, 32),
        systemUUID: stableHex(`${name}/uuid`, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
        bootID: stableHex(`${name}/boot`, 32),
        kernelVersion: '5.15.0-1063-nvidia',
        osImage: 'Ubuntu 22.04.5 LTS',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.31.4',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
    { ...options, now },
  );
}
