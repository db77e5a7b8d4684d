import type { NatsConnection } from '@nats-io/nats-core';
import { connectionInbox } from '../nats-credentials.js';
import { decode, encode } from '../codec.js';
import { RemoteError } from '../errors.js';
import { InferChunk, type InferRequestInput, type InferResult } from '../messages/inference.js';
import { InferReply } from '../messages/replies.js';
import { subjects } from '../subjects.js';
import { PROTOCOL_VERSION } from '../version.js';

/** Nothing answered the request subject at all (client-side: not a wire error code). Retry later. */
export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
  readonly code = 'NO_RESPONDERS';
}

export interface StreamOptions {
  readonly tenant: string;
  /** Told each piece of text in order, as the node generates it. */
  readonly onText: (text: string) => void;
  /** No answer (text or result) within this long of the last one ends the request (default 60 s). */
  readonly idleTimeoutMs?: number;
  /**
   * Aborting cancels the request: once text has come, the node running it is told to stop (its model
   * server's work too); before that, the client only stops waiting. Rejects with CANCELLED.
   */
  readonly signal?: AbortSignal;
}

/**
 * A streamed inference request (docs/protocol.md, InferChunk): the client publishes the request
 * with its own inbox as the reply subject and reads InferChunk messages, then the InferResult (or an
 * ErrorReply from the scheduler or the node). Text is delivered in `seq` order; a chunk that comes
 * early waits for the ones before it. When the request is re-placed after its node died, the new
 * attempt streams from seq 0 again: text already delivered is not repeated, so `onText` sees each
 * position once. Resolves with the result once every chunk it counts has arrived; rejects with
 * RemoteError on an error reply, an idle timeout (DEADLINE_EXCEEDED), or a result whose count of
 * chunks never arrives (INTERNAL).
 */
export function streamInfer(
  nc: NatsConnection,
  request: Omit<InferRequestInput, 'v' | 'stream'>,
  options: StreamOptions,
): Promise<InferResult> {
  if (options.signal?.aborted === true) {
    return Promise.reject(new RemoteError('CANCELLED', 'cancelled before it was sent'));
  }
  const inbox = connectionInbox(nc);
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  return new Promise<InferResult>((resolve, reject) => {
    let attempt = 0;
    /** Chunks of the current attempt by seq, not yet delivered. */
    const early = new Map<number, string>();
    let nextSeq = 0;
    /** Characters the client has been given (across attempts: a re-placed attempt repeats them). */
    let deliveredChars = 0;
    let attemptChars = 0;
    let result: InferResult | undefined;
    let idle: NodeJS.Timeout | undefined;
    /** Where the request runs and its id, once a chunk has said so. */
    let running: { readonly nodeId: string; readonly requestId: string } | undefined;
    const subscription = nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) return finish(new RemoteError('INTERNAL', `stream subscription failed: ${err.message}`));
        armIdle();
        // nats-server's "no responders" status: nothing subscribes to the infer subject (no scheduler
        // leads right now, e.g. during a failover). Retryable, but not a reply of ours to decode.
        if (msg.data.length === 0 && msg.headers?.code === 503) {
          return finish(new NoRespondersError(`no scheduler is listening on ${subjects.infer(options.tenant)}`));
        }
        const chunk = decode(InferChunk, msg.data);
        if (chunk.ok) return onChunk(chunk.value);
        const reply = decode(InferReply, msg.data);
        if (!reply.ok) return finish(new RemoteError(reply.error.code, `invalid answer: ${reply.error.message}`));
        if (!reply.value.ok) {
          const { code, message, retryAfterMs } = reply.value.error;
          return finish(new RemoteError(code, message, retryAfterMs));
        }
        result = reply.value;
        settleIfComplete();
      },
    });
    const onAbort = (): void => {
      if (running !== undefined) {
        const cancel = encode({ v: PROTOCOL_VERSION, requestId: running.requestId });
        // Fire and forget: the node answers CANCELLED to the inbox, which is closed by then.
        nc.request(subjects.nodeCancel(running.nodeId, options.tenant), cancel, { timeout: 5_000 }).catch(
          () => undefined,
        );
      }
      finish(
        new RemoteError(
          'CANCELLED',
          running === undefined
            ? 'cancelled before any text came: the request may still run'
            : `cancelled; node ${running.nodeId} told to stop`,
        ),
      );
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (outcome: InferResult | Error): void => {
      if (idle !== undefined) clearTimeout(idle);
      options.signal?.removeEventListener('abort', onAbort);
      subscription.unsubscribe();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const armIdle = (): void => {
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(
        () =>
          finish(
            result === undefined
              ? new RemoteError('DEADLINE_EXCEEDED', `no answer for ${idleTimeoutMs} ms`)
              : new RemoteError('INTERNAL', `result counts ${result.chunks ?? 0} chunks; ${nextSeq} arrived`),
          ),
        idleTimeoutMs,
      );
    };
    const onChunk = (chunk: InferChunk): void => {
      if (chunk.attempt < attempt) return;
      running = { nodeId: chunk.nodeId, requestId: chunk.requestId };
      if (chunk.attempt > attempt) {
        attempt = chunk.attempt;
        early.clear();
        nextSeq = 0;
        attemptChars = 0;
        result = undefined;
      }
      early.set(chunk.seq, chunk.text);
      for (let text = early.get(nextSeq); text !== undefined; text = early.get(nextSeq)) {
        early.delete(nextSeq++);
        // Only the part past what earlier attempts already delivered is new to the client.
        const fresh = text.slice(Math.max(0, deliveredChars - attemptChars));
        attemptChars += text.length;
        if (fresh !== '') {
          deliveredChars += fresh.length;
          options.onText(fresh);
        }
      }
      settleIfComplete();
    };
    const settleIfComplete = (): void => {
      if (result !== undefined && nextSeq >= (result.chunks ?? 0)) finish(result);
    };
    armIdle();
    nc.publish(subjects.infer(options.tenant), encode({ v: PROTOCOL_VERSION, ...request, stream: true }), {
      reply: inbox,
    });
  });
}
