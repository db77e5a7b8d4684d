import { ADMIN_VERBS, type AdminVerb, decode, encode, NodeCommandResponse, subjects } from '@switchyard/protocol';
import { type Command, connectNats, UsageError } from '../command.js';

export const nodeCommand: Command = {
  name: 'node',
  summary: 'cordon (no new work), uncordon or drain (cordon and let work finish) a node',
  usage: '<cordon|uncordon|drain> <node-id>',
  options: {},
  async run(values, positionals) {
    const [verb, nodeId] = positionals;
    if (verb === undefined || !(ADMIN_VERBS as readonly string[]).includes(verb) || nodeId === undefined) {
      throw new UsageError(`expected: switchyard node <${ADMIN_VERBS.join('|')}> <node-id>`);
    }
    const nc = await connectNats(values);
    try {
      const reply = await nc.request(subjects.adminNode(verb as AdminVerb), encode({ v: 1, nodeId }), {
        timeout: 5000,
      });
      const decoded = decode(NodeCommandResponse, reply.data);
      if (!decoded.ok) throw new Error(decoded.error.message);
      if (!decoded.value.ok) {
        console.error(`${decoded.value.error.code}: ${decoded.value.error.message}`);
        return 1;
      }
      console.log(`${nodeId}: ${decoded.value.node.state}`);
      return 0;
    } finally {
      await nc.close();
    }
  },
};
