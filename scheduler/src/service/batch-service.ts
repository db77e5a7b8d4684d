import { createHash, randomBytes } from 'node:crypto';
import type { ModelSpec } from '@switchyard/fleet-model';
import {
  type BatchAccepted,
  type BatchItemResult,
  type BatchRef,
  type BatchResultsReply,
  type BatchResultsRequest,
  type BatchStatus,
  type BatchSubmitRequest,
  type BatchWorkItem,
  type ErrorReply,
  errorReply,
  isRetryable,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
} from '@switchyard/protocol';
import type { BatchQueue, ItemControl } from '../adapters/jetstream/batch-queue.js';
import { quotaRefusal, type TenantQuotas } from '../core/admission/tenant-quotas.js';
import { BATCH_ACK_WAIT_MS } from '../adapters/jetstream/batch-queue.js';
import type { InferenceService } from './inference-service.js';
import type { Counters, Logger } from './ports.js';

/**
 * Durable batches: accepted only once every item is in the JetStream work queue; run by the leader
 * as low-priority placements; each item's answer stored once (de-duplicated by item) before its
 * work message is acknowledged. Agent death re-places or redelivers an item; a leader's death
 * leaves its unacknowledged items to be redelivered to the next leader.
 */
export class BatchService {
  constructor(
    private readonly queue: BatchQueue,
    private readonly inference: InferenceService,
    private readonly models: (name: string) => ModelSpec | undefined,
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly clock: () => number,
    /** Submissions count against the tenant's request rate. */
    private readonly quotas?: TenantQuotas,
  ) {}

  /** Starts running queued items (the leader only). */
  async start(): Promise<void> {
    await this.queue.consume((item, control) => void this.run(item, control));
  }

  stop(): void {
    this.queue.close();
  }

  async submit(tenant: string, request: BatchSubmitRequest): Promise<BatchAccepted | ErrorReply> {
    if (this.models(request.model) === undefined) {
      return errorReply('UNKNOWN_MODEL', `model ${request.model} is not in the scheduler's catalogue`);
    }
    const batchId =
      request.idempotencyKey === undefined
        ? `b-${randomBytes(6).toString('hex')}`
        : `b-${createHash('sha256').update(`${tenant}\u0000${request.idempotencyKey}`).digest('hex').slice(0, 12)}`;
    const nowMs = Math.floor(this.clock());
    const existing = await this.queue.record(batchId);
    // A retry of an accepted batch (same idempotency key) is answered without spending the rate.
    const quota = existing === undefined ? this.quotas?.judgeBatchSubmission(tenant) : undefined;
    if (quota !== undefined && !quota.ok) {
      this.counters.increment(`batches.rejected.${quota.code}`);
      return quotaRefusal(quota);
    }
    const deadlineAtMs = existing?.deadlineAtMs ?? nowMs + request.deadlineAfterMs;
    if (existing === undefined) {
      await this.queue.createRecord({
        v: PROTOCOL_VERSION,
        batchId,
        tenant,
        model: request.model,
        items: request.items.length,
        deadlineAtMs,
        createdAtMs: nowMs,
      });
    } else if (existing.tenant !== tenant || existing.items !== request.items.length) {
      return errorReply('IDEMPOTENCY_CONFLICT', `idempotency key names batch ${batchId}, which has other contents`);
    }
    const items: BatchWorkItem[] = request.items.map((item, index) => ({
      v: PROTOCOL_VERSION,
      batchId,
      index,
      tenant,
      model: request.model,
      inputTokens: item.inputTokens,
      maxOutputTokens: item.maxOutputTokens,
      deadlineAtMs,
      ...(item.prompt === undefined ? {} : { prompt: item.prompt }),
    }));
    // Re-queuing a resubmission is harmless: JetStream drops items whose id it has seen.
    await this.queue.enqueue(items);
    this.counters.increment('batches.accepted');
    this.counters.increment('batches.items.accepted', items.length);
    return { v: PROTOCOL_VERSION, ok: true, batchId, items: items.length, deadlineAtMs };
  }

  async status(tenant: string, ref: BatchRef): Promise<BatchStatus | ErrorReply> {
    const record = await this.queue.record(ref.batchId);
    if (record === undefined || record.tenant !== tenant) return notFound(ref.batchId);
    const results = await this.queue.results(ref.batchId);
    return {
      v: PROTOCOL_VERSION,
      ok: true,
      batchId: record.batchId,
      model: record.model,
      items: record.items,
      done: results.length,
      failed: results.filter((r) => !r.ok).length,
      state: results.length >= record.items ? 'done' : 'running',
      deadlineAtMs: record.deadlineAtMs,
    };
  }

  async results(tenant: string, request: BatchResultsRequest): Promise<BatchResultsReply | ErrorReply> {
    const record = await this.queue.record(request.batchId);
    if (record === undefined || record.tenant !== tenant) return notFound(request.batchId);
    const all = (await this.queue.results(request.batchId)).filter((r) => r.index >= request.fromIndex);
    let page = all.slice(0, request.limit);
    // One message must hold the page: shorten it (nextIndex points at the rest) rather than fail.
    while (page.length > 1 && Buffer.byteLength(JSON.stringify(page)) > MAX_MESSAGE_BYTES - 1024) {
      page = page.slice(0, Math.floor(page.length / 2));
    }
    const more = all.length > page.length;
    return {
      v: PROTOCOL_VERSION,
      ok: true,
      batchId: record.batchId,
      results: page,
      nextIndex: more ? (all[page.length]?.index ?? null) : null,
    };
  }

  /** Runs one delivered item to a stored result, or hands it back for a later retry. */
  private async run(item: BatchWorkItem, control: ItemControl): Promise<void> {
    try {
      if (await this.queue.hasResult(item.batchId, item.index)) {
        control.ack();
        return;
      }
      const remainingMs = item.deadlineAtMs - this.clock();
      if (remainingMs <= 0) {
        await this.store(item, {
          ok: false,
          code: 'DEADLINE_EXCEEDED',
          message: 'the batch deadline passed before the item ran',
        });
        control.ack();
        return;
      }
      if (this.queue.isClosed) {
        control.nak(0); // this term is ending: the next leader runs it
        return;
      }
      const { replyTo, answer } = this.queue.expectAnswer(remainingMs + 5_000);
      // Long items outlive the ack wait: tell JetStream we are on it.
      const keepAlive = setInterval(() => control.working(), BATCH_ACK_WAIT_MS / 3);
      let reply;
      try {
        this.inference.submit(
          item.tenant,
          {
            v: PROTOCOL_VERSION,
            model: item.model,
            inputTokens: item.inputTokens,
            maxOutputTokens: item.maxOutputTokens,
            priority: 'low',
            sloClass: 'batch',
            deadlineAfterMs: remainingMs,
            idempotencyKey: `${item.batchId}-${item.index}`,
            ...(item.prompt === undefined ? {} : { prompt: item.prompt }),
          },
          replyTo,
        );
        reply = await answer;
      } finally {
        clearInterval(keepAlive);
      }
      if (reply === undefined) {
        control.nak(1000);
        return;
      }
      if (reply.ok) {
        await this.store(item, {
          ok: true,
          nodeId: reply.nodeId,
          outputTokens: reply.outputTokens,
          timings: reply.timings,
        });
        this.counters.increment('batches.items.completed');
        control.ack();
      } else if ((reply.error.retryable || isRetryable(reply.error.code)) && reply.error.code !== 'DEADLINE_EXCEEDED') {
        control.nak(reply.error.retryAfterMs ?? 1000);
      } else {
        await this.store(item, { ok: false, code: reply.error.code, message: reply.error.message });
        this.counters.increment('batches.items.failed');
        control.ack();
      }
    } catch (err) {
      this.log.warn(
        { batchId: item.batchId, index: item.index, err: err instanceof Error ? err.message : String(err) },
        'batch item will be retried',
      );
      control.nak(1000);
    }
  }

  private async store(item: BatchWorkItem, outcome: Partial<BatchItemResult> & { ok: boolean }): Promise<void> {
    await this.queue.storeResult({
      v: PROTOCOL_VERSION,
      batchId: item.batchId,
      index: item.index,
      outputTokens: 0,
      completedAtMs: Math.floor(this.clock()),
      ...outcome,
    });
  }
}

function notFound(batchId: string): ErrorReply {
  return errorReply('BATCH_NOT_FOUND', `batch ${batchId} does not exist for this tenant`);
}
