/**
 * A bare NATS forwarder, the floor any broker hop costs: whatever arrives on `bench.forward.<node>`
 * is republished unchanged to `sy.v1.node.<node>.assign`. Used by the hop-ratio benchmark.
 * Usage: node forwarder.js <nats-url>
 */
import { connect } from '@nats-io/transport-node';
import { subjects, subjectToken } from '@switchyard/protocol';

const url = process.argv[2] ?? 'nats://127.0.0.1:4222';
const nc = await connect({ servers: url, name: 'bench-forwarder' });
nc.subscribe('bench.forward.*', {
  callback: (err, msg) => {
    if (err !== null) return;
    const nodeId = subjectToken(msg.subject, 2);
    if (nodeId !== undefined) nc.publish(subjects.assign(nodeId), msg.data);
  },
});
await nc.flush();
console.log('forwarder ready');
const stop = (): void => void nc.drain().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
