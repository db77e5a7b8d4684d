import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildNodeObject, type FakeKubeApi, startFakeKubeApi } from '@switchyard/test-kit';
import type { StatusReply } from '@switchyard/protocol';
import { groupNodeIds, groupPrefix, type NodeGroup } from './demo-fleet.js';

/** What cordoning a Node did, for the summary. */
export interface CordonReport {
  readonly node: string;
  readonly group: NodeGroup;
  readonly atMs: number;
  readonly heldMs: number;
  /** Agent nodes the scheduler showed as draining while the Node was cordoned. */
  readonly drainedNodes: number;
  /** Sessions the scheduler moved meanwhile (its `sessions.moved` counter). */
  readonly sessionsMoved: number;
}

/** The instance each demo profile stands for, and the accelerator its device plugin advertises. */
const INSTANCES: Readonly<Record<string, { type: string; resource?: string; gpuProduct?: string; devices: number }>> = {
  trn2: { type: 'trn2.48xlarge', resource: 'aws.amazon.com/neuron', devices: 16 },
  h100: { type: 'p5.48xlarge', resource: 'nvidia.com/gpu', gpuProduct: 'NVIDIA-H100-80GB-HBM3', devices: 8 },
  l4: { type: 'g6.xlarge', resource: 'nvidia.com/gpu', gpuProduct: 'NVIDIA-L4', devices: 1 },
  cpu: { type: 'c7i.2xlarge', devices: 0 },
};

/** The demo's clusters as cloud regions (the zones come from the node groups). */
const REGIONS: Readonly<Record<string, string>> = {
  'edge-fra-1': 'eu-central-1',
  'edge-iad-1': 'us-east-1',
  'edge-sin-1': 'ap-southeast-1',
};

/** The Kubernetes Node an agent process of `group` runs on: one machine per agent process. */
export function kubernetesNodeOf(group: NodeGroup): string {
  return `${groupPrefix(group)}.internal`;
}

function nodeObject(group: NodeGroup, index: number): object {
  const instance = INSTANCES[group.profile] ?? { type: 'm7i.xlarge', devices: 0 };
  const name = kubernetesNodeOf(group);
  const devices = instance.resource === undefined ? {} : { [instance.resource]: String(instance.devices) };
  const capacity = { cpu: '192', memory: '2097152Ki', pods: '110', ...devices };
  return buildNodeObject({
    name,
    hostname: name,
    internalIp: `10.0.${index + 1}.10`,
    labels: {
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': instance.type,
      'topology.kubernetes.io/region': REGIONS[group.cluster] ?? 'local',
      'topology.kubernetes.io/zone': group.zone,
      ...(instance.gpuProduct === undefined
        ? {}
        : { 'nvidia.com/gpu.product': instance.gpuProduct, 'nvidia.com/gpu.count': String(instance.devices) }),
    },
    capacity,
    allocatable: capacity,
    nodeInfo: {
      kubeletVersion: 'v1.31.2',
      containerRuntimeVersion: 'containerd://1.7.22',
      osImage: 'Amazon Linux 2023',
    },
  });
}

/**
 * The demo's stand-in Kubernetes: the test-kit's API server (the demo runs no cluster), holding one
 * Node per agent process, and a kubeconfig for the schedulers. Through it the schedulers elect their
 * leader with a coordination.k8s.io Lease and learn each agent's instance type, zone and region; the
 * demo cordons a Node mid-run, as `kubectl cordon` would, and uncordons it later.
 */
export class DemoKubernetes {
  private constructor(
    readonly api: FakeKubeApi,
    readonly kubeconfigPath: string,
  ) {}

  /** Starts the API server with the fleet's Nodes and writes the kubeconfig; says where it is. */
  static async start(
    fleet: readonly NodeGroup[],
    logDir: string,
    say: (line: string) => void,
  ): Promise<DemoKubernetes> {
    const api = await startFakeKubeApi({ bookmarkIntervalMs: 5_000 });
    say(
      `▸ Kubernetes API ${api.url} (test-kit's stand-in: the demo runs no cluster) with ${fleet.length} Nodes, one per agent process`,
    );
    fleet.forEach((group, i) => api.putNode(nodeObject(group, i)));
    const options = api.kubeConfigOptions();
    const kubeconfigPath = join(logDir, 'kubeconfig.json');
    // JSON is YAML: client-node reads it as a kubeconfig file. Plain HTTP needs the skip flag.
    await writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: options.clusters.map((c) => ({
          name: c.name,
          cluster: { server: c.server, 'insecure-skip-tls-verify': true },
        })),
        users: options.users.map((u) => ({ name: u.name, user: {} })),
        contexts: options.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user } })),
        'current-context': options.currentContext,
      }),
    );
    return new DemoKubernetes(api, kubeconfigPath);
  }

  /** The scheduler flags that make it elect through the Lease (short timings, client-go's proportions). */
  schedulerArgs(): string[] {
    return [
      '--leader-election',
      'kubernetes',
      '--kubeconfig',
      this.kubeconfigPath,
      '--namespace',
      'switchyard',
      '--lease-duration-ms',
      '1500',
      '--renew-deadline-ms',
      '1000',
      '--retry-period-ms',
      '200',
    ];
  }

  /** Who holds the Lease now. */
  leaseHolder(): string | undefined {
    const lease = JSON.parse(JSON.stringify(this.api.getLease('switchyard', 'switchyard-scheduler') ?? {})) as {
      spec?: { holderIdentity?: string };
    };
    return lease.spec?.holderIdentity;
  }

  cordon(group: NodeGroup, unschedulable = true): void {
    this.api.cordon(kubernetesNodeOf(group), unschedulable);
  }

  /**
   * `kubectl cordon` on the Node of the group `pick` chooses, held for `holdMs`, then `kubectl uncordon`; reports what
   * the scheduler did meanwhile, as its status shows.
   */
  async cordonFor(
    pick: () => Promise<NodeGroup>,
    holdMs: number,
    status: () => Promise<StatusReply | undefined>,
    announce: (line: string) => void,
    sinceMs: number,
  ): Promise<CordonReport> {
    const group = await pick();
    const node = kubernetesNodeOf(group);
    const movedBefore = (await status())?.counters['sessions.moved'] ?? 0;
    const atMs = Date.now() - sinceMs;
    this.cordon(group);
    announce(`⎈ kubectl cordon ${node}: its ${group.nodes} ${group.profile} nodes drain, their sessions move`);
    let drainedNodes = 0;
    const until = Date.now() + holdMs;
    let now: StatusReply | undefined;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(1, until - Date.now()))));
      now = (await status()) ?? now;
      const draining = now?.nodes.filter((n) => n.host?.kubernetesNode === node && n.state === 'draining').length ?? 0;
      drainedNodes = Math.max(drainedNodes, draining);
    }
    const sessionsMoved = Math.max(0, (now?.counters['sessions.moved'] ?? movedBefore) - movedBefore);
    this.cordon(group, false);
    announce(
      `⎈ kubectl uncordon ${node}: ${drainedNodes} nodes had drained and ${sessionsMoved} sessions moved; they serve again`,
    );
    return { node, group, atMs, heldMs: holdMs, drainedNodes, sessionsMoved };
  }

  /** cordonFor after `afterMs` (0 or less: never; resolves undefined). */
  cordonLater(
    afterMs: number,
    holdMs: number,
    pick: () => Promise<NodeGroup>,
    report: { status: () => Promise<StatusReply | undefined>; announce: (line: string) => void; sinceMs: number },
  ): Promise<CordonReport | undefined> {
    if (!(afterMs > 0)) return Promise.resolve(undefined);
    return new Promise((wake) => setTimeout(wake, afterMs)).then(() =>
      this.cordonFor(pick, holdMs, report.status, report.announce, report.sinceMs),
    );
  }

  close(): Promise<void> {
    return this.api.close();
  }
}

/** The simulated group (not `except`) whose nodes own the most sessions; the first one on a tie. */
export function groupOwningMostSessions(
  fleet: readonly NodeGroup[],
  except: NodeGroup | undefined,
  owners: ReadonlyMap<string, number>,
): NodeGroup {
  const candidates = fleet.filter((g) => g !== except && g.backend === undefined);
  const owned = (g: NodeGroup): number => groupNodeIds(g).reduce((sum, id) => sum + (owners.get(id) ?? 0), 0);
  const first = candidates[0] ?? fleet[0];
  if (first === undefined) throw new RangeError('the demo fleet is empty');
  return candidates.reduce((best, g) => (owned(g) > owned(best) ? g : best), first);
}
