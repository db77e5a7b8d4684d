import { randomBytes } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  connectionInbox,
  BATCH_KV_BUCKET,
  BATCH_RESULTS_STREAM,
  BATCH_WORK_STREAM,
  BatchItemResult,
  BatchRecord,
  BatchWorkItem,
  decode,
  encode,
  InferReply,
  subjects,
} from '@switchyard/protocol';
import type { Logger } from '../../service/ports.js';

const NANOS_PER_MS = 1_000_000;
/** Unacknowledged items come back after this (the consumer signals progress on long items). */
export const BATCH_ACK_WAIT_MS = 30_000;
const CONSUMER = 'scheduler';

/** How a handler settles one delivered item. */
export interface ItemControl {
  ack(): void;
  /** Redeliver after `delayMs` (retry later). */
  nak(delayMs: number): void;
  /** Still working: postpone redelivery by another ack wait. */
  working(): void;
}

/**
 * Durable batches on JetStream: batch records in a KV bucket, items in a work-queue stream consumed
 * by the leader through one durable consumer, results in a stream de-duplicated per item. Also
 * collects the answers of the placements the scheduler makes for items (one inbox subscription).
 */
export class BatchQueue {
  private readonly inbox: string;
  private readonly waiting = new Map<string, (reply: InferReply) => void>();
  /** The same waiters, resolvable with no answer (on close). */
  private readonly waitingUndefined = new Map<string, (reply: undefined) => void>();
  private readonly subscription: Subscription;
  private seq = 0;
  private consuming: ConsumerMessages | undefined;
  private closed = false;

  /** Whether the queue was closed (the term ended): items still in hand go back to the queue. */
  get isClosed(): boolean {
    return this.closed;
  }

  private constructor(
    nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly log: Logger,
  ) {
    this.inbox = connectionInbox(nc);
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const resolve = this.waiting.get(msg.subject);
        if (resolve === undefined) return;
        const decoded = decode(InferReply, msg.data);
        if (!decoded.ok) return;
        this.waiting.delete(msg.subject);
        this.waitingUndefined.delete(msg.subject);
        resolve(decoded.value);
      },
    });
  }

  /** Creates (or updates) the streams, the consumer and the bucket, and opens them. */
  static async open(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, log: Logger): Promise<BatchQueue> {
    await ensureStream(jsm, {
      name: BATCH_WORK_STREAM,
      subjects: [subjects.anyBatchWork],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      duplicate_window: 120_000 * NANOS_PER_MS,
    });
    await ensureStream(jsm, {
      name: BATCH_RESULTS_STREAM,
      subjects: [subjects.anyBatchResult],
      storage: StorageType.File,
      allow_direct: true,
      duplicate_window: 120_000 * NANOS_PER_MS,
    });
    try {
      await jsm.consumers.info(BATCH_WORK_STREAM, CONSUMER);
    } catch {
      await jsm.consumers.add(BATCH_WORK_STREAM, {
        durable_name: CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: BATCH_ACK_WAIT_MS * NANOS_PER_MS,
        max_ack_pending: 256,
      });
    }
    const kv = await new Kvm(nc).create(BATCH_KV_BUCKET, { history: 1, storage: StorageType.File });
    return new BatchQueue(nc, js, jsm, kv, log);
  }

  /** Records a batch; false if a batch with this id exists (a resubmission). */
  async createRecord(record: BatchRecord): Promise<boolean> {
    try {
      await this.kv.create(record.batchId, encode(record));
      return true;
    } catch (err) {
      if (/key exists|wrong last sequence/i.test(err instanceof Error ? err.message : String(err))) return false;
      throw err;
    }
  }

  async record(batchId: string): Promise<BatchRecord | undefined> {
    const entry = await this.kv.get(batchId);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const decoded = decode(BatchRecord, entry.value);
    return decoded.ok ? decoded.value : undefined;
  }

  /** Queues items durably (resolves once JetStream acknowledged each; duplicates are dropped by id). */
  async enqueue(items: readonly BatchWorkItem[]): Promise<void> {
    await Promise.all(
      items.map((item) =>
        this.js.publish(subjects.batchWork(item.batchId), encode(item), { msgID: `${item.batchId}:${item.index}` }),
      ),
    );
  }

  async storeResult(result: BatchItemResult): Promise<void> {
    await this.js.publish(subjects.batchResult(result.batchId, result.index), encode(result), {
      msgID: `${result.batchId}:${result.index}`,
    });
  }

  async hasResult(batchId: string, index: number): Promise<boolean> {
    return (
      (await this.jsm.direct.getMessage(BATCH_RESULTS_STREAM, {
        last_by_subj: subjects.batchResult(batchId, index),
      })) !== null
    );
  }

  /** Every stored result of a batch, in index order. */
  async results(batchId: string): Promise<BatchItemResult[]> {
    const out: BatchItemResult[] = [];
    for (let seq = 1; ;) {
      const stored = await this.jsm.direct.getMessage(BATCH_RESULTS_STREAM, {
        seq,
        next_by_subj: subjects.batchResults(batchId),
      });
      if (stored === null) break;
      const decoded = decode(BatchItemResult, stored.data);
      if (decoded.ok) out.push(decoded.value);
      else this.log.error({ batchId, seq: stored.seq, reason: decoded.error.message }, 'undecodable batch result');
      seq = stored.seq + 1;
    }
    // One result per item even if one was stored twice after JetStream's duplicate window.
    const byIndex = new Map<number, BatchItemResult>();
    for (const result of out) if (!byIndex.has(result.index)) byIndex.set(result.index, result);
    return [...byIndex.values()].sort((a, b) => a.index - b.index);
  }

  /** A reply subject for a placement's answer, and the promise of that answer (undefined on timeout). */
  expectAnswer(timeoutMs: number): { replyTo: string; answer: Promise<InferReply | undefined> } {
    // Unguessable: an agent sees this inbox in the items it runs, and must not answer for another's.
    const replyTo = `${this.inbox}.${(++this.seq).toString(36)}${randomBytes(6).toString('hex')}`;
    // Closed (the term ended): no answer can arrive here, so the item goes back to the queue at once.
    if (this.closed) return { replyTo, answer: Promise.resolve(undefined) };
    const answer = new Promise<InferReply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(replyTo);
        this.waitingUndefined.delete(replyTo);
        resolve(undefined);
      }, timeoutMs);
      const settle = (reply: InferReply | undefined): void => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.waiting.set(replyTo, settle);
      this.waitingUndefined.set(replyTo, settle);
    });
    return { replyTo, answer };
  }

  /** Starts delivering queued items to `handle` (each settles its item through the control). */
  async consume(handle: (item: BatchWorkItem, control: ItemControl) => void): Promise<void> {
    const consumer = await this.js.consumers.get(BATCH_WORK_STREAM, CONSUMER);
    const messages = await consumer.consume({ max_messages: 64 });
    this.consuming = messages;
    (async () => {
      for await (const msg of messages) {
        const decoded = decode(BatchWorkItem, msg.data);
        if (!decoded.ok) {
          this.log.error({ reason: decoded.error.message }, 'undecodable batch item dropped');
          msg.term();
          continue;
        }
        handle(decoded.value, {
          ack: () => msg.ack(),
          nak: (delayMs) => msg.nak(delayMs),
          working: () => msg.working(),
        });
      }
    })().then(
      () => {
        if (this.consuming === messages)
          this.log.warn({}, 'batch consumer ended; no batch items run until the next term');
      },
      (err: unknown) =>
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'batch consumer failed'),
    );
  }

  /** Stops consuming and collecting answers. */
  close(): void {
    this.closed = true;
    const consuming = this.consuming;
    this.consuming = undefined;
    consuming?.stop();
    this.subscription.unsubscribe();
    // Items waiting for an answer go back to the queue (the next leader runs them).
    for (const resolve of this.waitingUndefined.values()) resolve(undefined);
    this.waiting.clear();
    this.waitingUndefined.clear();
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager['streams']['add']>[0],
): Promise<void> {
  try {
    await jsm.streams.info(config.name ?? '');
  } catch {
    await jsm.streams.add(config);
  }
}
