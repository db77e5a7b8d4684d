import { connect } from '@nats-io/transport-node';
import { decode, encode, StatusResponse, subjects } from '@switchyard/protocol';
import { type Command, intOption, stringOption } from '../command.js';
import { formatTable } from '@switchyard/bench';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show clusters and nodes as the scheduler sees them',
  options: {
    json: { type: 'boolean', description: 'print the raw status reply as JSON' },
    'node-limit': { type: 'string', default: '200', description: 'list at most this many nodes' },
    'timeout-ms': { type: 'string', default: '5000', description: 'how long to wait for the scheduler' },
  },
  async run(values) {
    const nc = await connect({ servers: stringOption(values, 'nats-url') });
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
      if (values['json'] === true) {
        console.log(JSON.stringify(status, null, 2));
        return 0;
      }
      console.log(
        `scheduler ${status.schedulerId}, up ${Math.round(status.uptimeMs / 1000)} s, ${status.totalNodes} nodes\n`,
      );
      console.log(
        formatTable(
          ['cluster', 'nodes', 'ready', 'in flight', 'queued', 'power W', 'limit W'],
          status.clusters.map((c) => [
            c.cluster,
            c.nodes,
            c.readyNodes,
            c.inFlight,
            c.queueDepth,
            Math.round(c.powerDrawWatts),
            Math.round(c.powerLimitWatts),
          ]),
        ),
      );
      console.log('');
      console.log(
        formatTable(
          ['node', 'cluster', 'profile', 'state', 'in flight', 'queued', 'power W', 'HBM used', 'models'],
          status.nodes.map((n) => [
            n.nodeId,
            n.cluster,
            `${n.profile}×${n.acceleratorCount}`,
            n.state,
            n.inFlight,
            n.queueDepth,
            Math.round(n.powerDrawWatts),
            `${Math.round((100 * n.hbmUsedBytes) / Math.max(1, n.hbmTotalBytes))}%`,
            n.models.map((m) => (m.state === 'loaded' ? m.name : `${m.name} (loading)`)).join(','),
          ]),
        ),
      );
      return 0;
    } finally {
      await nc.close();
    }
  },
};
