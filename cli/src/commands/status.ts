import { type ClusterView, decode, encode, type StatusReply, StatusResponse, subjects } from '@switchyard/protocol';
import { type Command, connectNats, intOption } from '../command.js';
import { formatTable } from '@switchyard/bench';
import { formatWatts } from './power.js';

/** The cluster table; budget columns appear when the scheduler reports power accounting for some cluster. */
function clusterTable(clusters: readonly ClusterView[]): string {
  const budgeted = clusters.some((c) => c.power !== undefined);
  const headers = ['cluster', 'nodes', 'ready', 'in flight', 'queued', 'power W', 'limit W'];
  if (budgeted) headers.push('committed / budget W', 'stage');
  return formatTable(
    headers,
    clusters.map((c) => {
      const row: (string | number)[] = [
        c.cluster,
        c.nodes,
        c.readyNodes,
        c.inFlight,
        c.queueDepth,
        Math.round(c.powerDrawWatts),
        Math.round(c.powerLimitWatts),
      ];
      if (budgeted) {
        row.push(
          c.power === undefined
            ? '–'
            : `${formatWatts(c.power.committedWatts)} / ${c.power.budgetWatts > 0 ? formatWatts(c.power.budgetWatts) : 'unlimited'}`,
          c.power?.stage ?? '–',
        );
      }
      return row;
    }),
  );
}

/** What `switchyard status` prints. */
export function formatStatus(status: StatusReply): string {
  return [
    `scheduler ${status.schedulerId}, up ${Math.round(status.uptimeMs / 1000)} s, ${status.totalNodes} nodes`,
    '',
    clusterTable(status.clusters),
    '',
    formatTable(
      ['node', 'cluster', 'profile', 'state', 'in flight', 'queued', 'power W', 'HBM used', 'telemetry', 'models'],
      status.nodes.map((n) => [
        n.nodeId,
        n.cluster,
        `${n.profile}×${n.acceleratorCount}`,
        n.host === undefined || n.host.condition === 'ready' || n.host.condition === 'unknown'
          ? n.state
          : `${n.state} (k8s ${n.host.kubernetesNode} ${n.host.condition})`,
        n.inFlight,
        n.queueDepth,
        Math.round(n.powerDrawWatts),
        `${Math.round((100 * n.hbmUsedBytes) / Math.max(1, n.hbmTotalBytes))}%`,
        telemetryOf(n),
        n.models.map((m) => (m.state === 'loaded' ? m.name : `${m.name} (loading)`)).join(','),
      ]),
    ),
  ].join('\n');
}

/** `simulated`, `nvidia ×8`, or `nvidia DEGRADED (PROBE_TIMEOUT)` while the node's probe fails. */
function telemetryOf(node: StatusReply['nodes'][number]): string {
  const telemetry = node.telemetry;
  if (telemetry === undefined) return 'simulated';
  return telemetry.error === undefined
    ? `${telemetry.source} ×${telemetry.devices}`
    : `${telemetry.source} DEGRADED (${telemetry.error.code})`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show clusters and nodes as the scheduler sees them',
  options: {
    json: { type: 'boolean', description: 'print the raw status reply as JSON' },
    'node-limit': { type: 'string', default: '200', description: 'list at most this many nodes' },
    'timeout-ms': { type: 'string', default: '5000', description: 'how long to wait for the scheduler' },
  },
  async run(values) {
    const nc = await connectNats(values);
    try {
      const reply = await nc.request(
        subjects.adminStatus,
        encode({ v: 1, nodeLimit: intOption(values, 'node-limit', 0, 1000) }),
        {
          timeout: intOption(values, 'timeout-ms', 1, 600_000),
        },
      );
      const decoded = decode(StatusResponse, reply.data);
      if (!decoded.ok || !decoded.value.ok) {
        console.error(decoded.ok ? (decoded.value.ok ? '' : decoded.value.error.message) : decoded.error.message);
        return 1;
      }
      const status = decoded.value;
      console.log(values['json'] === true ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    } finally {
      await nc.close();
    }
  },
};
