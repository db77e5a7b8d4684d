import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, SESSION_KV_BUCKET, SessionRecord } from '@switchyard/protocol';

/**
 * Reads who the durable ownership record says owns a session. Agents never write it (the scheduler
 * does, by compare-and-set); they read it to tell "another node appended before I caught up" from
 * "I lost the session". The bucket is opened on first use: the scheduler creates it.
 */
export class OwnershipReader {
  private kv: Promise<KV> | undefined;

  constructor(private readonly nc: NatsConnection) {}

  /** The owner named now; null while the session moves; undefined if there is no record. */
  async currentOwner(sessionId: string): Promise<string | null | undefined> {
    this.kv ??= new Kvm(this.nc).open(SESSION_KV_BUCKET);
    let kv: KV;
    try {
      kv = await this.kv;
    } catch (err) {
      this.kv = undefined;
      throw err;
    }
    const entry = await kv.get(sessionId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const decoded = decode(SessionRecord, entry.value);
    return decoded.ok ? decoded.value.ownerNodeId : undefined;
  }
}
