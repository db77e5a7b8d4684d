import type { NatsConnection } from '@nats-io/nats-core';
import { decode, encode } from '../codec.js';
import { RemoteError } from '../errors.js';
import type { BatchAccepted, BatchItemResult, BatchStatus, BatchSubmitRequest } from '../messages/batch.js';
import { BatchResultsResponse, BatchStatusResponse, BatchSubmitResponse } from '../messages/replies.js';
import { subjects } from '../subjects.js';
import { PROTOCOL_VERSION } from '../version.js';

/** Durable batches for clients (docs/protocol.md, section 14). */
export class BatchClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly tenant: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Submits a batch; resolves once every item is durably queued. */
  async submit(
    request: Omit<Partial<BatchSubmitRequest>, 'v'> & Pick<BatchSubmitRequest, 'model' | 'items'>,
  ): Promise<BatchAccepted> {
    const reply = await this.nc.request(
      subjects.batch(this.tenant, 'submit'),
      encode({ v: PROTOCOL_VERSION, ...request }),
      { timeout: this.timeoutMs },
    );
    const decoded = decode(BatchSubmitResponse, reply.data);
    if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
    if (!decoded.value.ok) {
      const { code, message, retryAfterMs } = decoded.value.error;
      throw new RemoteError(code, message, retryAfterMs);
    }
    return decoded.value;
  }

  async status(batchId: string): Promise<BatchStatus> {
    const reply = await this.nc.request(
      subjects.batch(this.tenant, 'status'),
      encode({ v: PROTOCOL_VERSION, batchId }),
      { timeout: this.timeoutMs },
    );
    const decoded = decode(BatchStatusResponse, reply.data);
    if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
    if (!decoded.value.ok) {
      const { code, message, retryAfterMs } = decoded.value.error;
      throw new RemoteError(code, message, retryAfterMs);
    }
    return decoded.value;
  }

  /** Every stored result, following `nextIndex` pages. */
  async results(batchId: string): Promise<BatchItemResult[]> {
    const out: BatchItemResult[] = [];
    for (let fromIndex: number | null = 0; fromIndex !== null;) {
      const reply = await this.nc.request(
        subjects.batch(this.tenant, 'results'),
        encode({ v: PROTOCOL_VERSION, batchId, fromIndex }),
        {
          timeout: this.timeoutMs,
        },
      );
      const decoded = decode(BatchResultsResponse, reply.data);
      if (!decoded.ok) throw new RemoteError(decoded.error.code, `invalid reply: ${decoded.error.message}`);
      if (!decoded.value.ok) {
        const { code, message, retryAfterMs } = decoded.value.error;
        throw new RemoteError(code, message, retryAfterMs);
      }
      out.push(...decoded.value.results);
      fromIndex = decoded.value.nextIndex;
    }
    return out;
  }
}
