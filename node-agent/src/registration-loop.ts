import type { NatsConnection } from '@nats-io/transport-node';
import { decode, encode, type Registration, RegistrationReply, subjects } from '@switchyard/protocol';
import type { AgentLogger } from './node-agent.js';

/**
 * Registers a node until the scheduler acknowledges it (the scheduler may not be up yet, or may
 * be a new leader), backing off from 250 ms to 2 s. Single-flight: asking again while a loop runs
 * joins it.
 */
export class RegistrationLoop {
  private running: Promise<void> | undefined;
  /** Whether the scheduler has acknowledged (cleared when it asks for a registration again). */
  registered = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly nodeId: string,
    private readonly registration: () => Registration,
    private readonly log: AgentLogger,
    private readonly stopped: () => boolean,
  ) {}

  register(): Promise<void> {
    this.registered = false;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    let backoffMs = 250;
    while (!this.stopped()) {
      try {
        const reply = await this.nc.request(subjects.register(this.nodeId), encode(this.registration()), {
          timeout: 2000,
        });
        const decoded = decode(RegistrationReply, reply.data);
        if (decoded.ok && decoded.value.ok) {
          this.registered = true;
          this.log.info({ nodeId: this.nodeId, schedulerId: decoded.value.schedulerId }, 'registered');
          return;
        }
        const reason = decoded.ok ? (decoded.value.ok ? '' : decoded.value.error.message) : decoded.error.message;
        this.log.error({ nodeId: this.nodeId, reason }, 'registration refused');
      } catch (err) {
        this.log.debug(
          { nodeId: this.nodeId, err: err instanceof Error ? err.message : String(err) },
          'registration not answered; retrying',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 2000);
    }
  }
}
