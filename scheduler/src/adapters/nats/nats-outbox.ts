import { type NatsConnection, RequestError, TimeoutError } from '@nats-io/transport-node';
import { type Assignment, AssignmentReply, decode, encode, subjects } from '@switchyard/protocol';
import type { AssignFailure, Logger, SchedulerOutbox } from '../../service/ports.js';

/** The scheduler's outbound side over NATS core: publishes and assignment requests. Never throws. */
export class NatsOutbox implements SchedulerOutbox {
  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  publish(subject: string, message: object): void {
    try {
      this.nc.publish(subject, encode(message));
    } catch (err) {
      this.log.error({ subject, err: errorMessage(err) }, 'publish failed');
    }
  }

  async assign(nodeId: string, assignment: Assignment, timeoutMs: number): Promise<AssignmentReply | AssignFailure> {
    try {
      const reply = await this.nc.request(subjects.assign(nodeId), encode(assignment), { timeout: timeoutMs });
      const decoded = decode(AssignmentReply, reply.data);
      if (decoded.ok) return decoded.value;
      return { ok: false, transport: 'invalid-reply', message: `${decoded.error.code}: ${decoded.error.message}` };
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) {
        return { ok: false, transport: 'no-responders', message: `node ${nodeId} is not listening` };
      }
      if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
        return { ok: false, transport: 'timeout', message: `node ${nodeId} did not answer within ${timeoutMs} ms` };
      }
      return { ok: false, transport: 'disconnected', message: errorMessage(err) };
    }
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
