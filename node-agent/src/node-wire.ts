import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { encode } from '@switchyard/protocol';
import type { AgentLogger } from './node-agent-options.js';

/**
 * How a node agent puts messages on the wire. A message that cannot be encoded or sent is logged,
 * never thrown: one failed reply must not take down the handler that sends it.
 */
export class NodeWire {
  constructor(
    private readonly nc: NatsConnection,
    private readonly nodeId: string,
    private readonly log: AgentLogger,
  ) {}

  /** Answers a request; a message nobody waits on (no reply subject) gets nothing. */
  respond(msg: Msg, body: object): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encode(body));
    } catch (err) {
      this.log.error({ nodeId: this.nodeId, err: err instanceof Error ? err.message : String(err) }, 'reply failed');
    }
  }

  /** Encodes and publishes one message. */
  publish(subject: string, body: object): void {
    try {
      this.publishBytes(subject, encode(body));
    } catch (err) {
      this.log.error(
        { nodeId: this.nodeId, subject, err: err instanceof Error ? err.message : String(err) },
        'publish failed',
      );
    }
  }

  /** Publishes a message already encoded. */
  publishBytes(subject: string, body: Uint8Array): void {
    try {
      this.nc.publish(subject, body);
    } catch (err) {
      this.log.error(
        { nodeId: this.nodeId, subject, err: err instanceof Error ? err.message : String(err) },
        'publish failed',
      );
    }
  }
}
