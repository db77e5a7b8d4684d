/**
 * streamInfer against a real nats-server, with this test playing scheduler and node on the infer
 * subject: the order of text, early chunks, a re-placed attempt, counts that never complete, errors.
 */
import type { Msg } from '@nats-io/transport-node';
import { decode, encode, InferRequest, NoRespondersError, RemoteError, streamInfer } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsFixture, startNats } from './harness.js';

const TENANT = 'streams';
const noAnswer = (): object[] => [];
const REQUEST = { model: 'llama-3.1-8b', inputTokens: 100, maxOutputTokens: 20 };

function chunk(attempt: number, seq: number, text: string): object {
  return { v: 1, chunk: true, requestId: 'r-1', attempt, seq, nodeId: 'n-1', text };
}

function result(chunks: number, text: string): object {
  return {
    v: 1,
    ok: true,
    requestId: 'r-1',
    nodeId: 'n-1',
    cluster: 'c-1',
    model: 'llama-3.1-8b',
    inputTokens: 100,
    outputTokens: 5,
    timings: { queueMs: 0, loadMs: 0, ttftMs: 5, totalMs: 50 },
    text,
    chunks,
  };
}

describe('streamInfer (real nats-server)', () => {
  let nats: NatsFixture;
  /** What the stand-in answers a request with: messages in the order given. */
  let script: (msg: Msg) => object[] = noAnswer;
  let seen: unknown[] = [];

  beforeAll(async () => {
    nats = await startNats();
    nats.client.subscribe(`sy.v1.tenant.${TENANT}.infer`, {
      callback: (_err, msg) => {
        seen.push(decode(InferRequest, msg.data));
        for (const message of script(msg)) nats.client.publish(msg.reply!, encode(message));
      },
    });
    await nats.client.flush();
  });
  afterAll(async () => nats?.close());

  it('asks the node to stream and hands over the text in seq order, early chunks held back', async () => {
    seen = [];
    script = () => [chunk(1, 1, ' world'), chunk(1, 0, 'hello'), chunk(1, 2, '!'), result(3, 'hello world!')];
    const pieces: string[] = [];
    const answer = await streamInfer(nats.client, REQUEST, { tenant: TENANT, onText: (t) => pieces.push(t) });
    expect(pieces).toEqual(['hello', ' world', '!']);
    expect(answer).toMatchObject({ ok: true, chunks: 3, text: 'hello world!' });
    expect(seen).toEqual([{ ok: true, value: expect.objectContaining({ stream: true, model: 'llama-3.1-8b' }) }]);
  });

  it('waits for chunks the result counts that arrive after it', async () => {
    script = () => [chunk(1, 0, 'a'), result(2, 'ab'), chunk(1, 1, 'b')];
    const pieces: string[] = [];
    await streamInfer(nats.client, REQUEST, { tenant: TENANT, onText: (t) => pieces.push(t) });
    expect(pieces.join('')).toBe('ab');
  });

  it('does not repeat text when the request is re-placed and streams again from seq 0', async () => {
    // Attempt 1 streamed "The cat" before its node died; attempt 2 generates "The cat sat." afresh.
    script = () => [
      chunk(1, 0, 'The '),
      chunk(1, 1, 'cat'),
      chunk(2, 0, 'The c'),
      chunk(2, 1, 'at sat'),
      chunk(2, 2, '.'),
      result(3, 'The cat sat.'),
    ];
    const pieces: string[] = [];
    const answer = await streamInfer(nats.client, REQUEST, { tenant: TENANT, onText: (t) => pieces.push(t) });
    expect(pieces.join('')).toBe('The cat sat.');
    expect(pieces).toEqual(['The ', 'cat', ' sat', '.']);
    expect(answer.text).toBe('The cat sat.');
  });

  it('rejects with the error reply, and with INTERNAL when counted chunks never come', async () => {
    script = () => [
      chunk(1, 0, 'x'),
      { v: 1, ok: false, error: { code: 'NODE_LOST', message: 'node died', retryable: true } },
    ];
    await expect(streamInfer(nats.client, REQUEST, { tenant: TENANT, onText: () => {} })).rejects.toMatchObject({
      code: 'NODE_LOST',
    });
    script = () => [chunk(1, 0, 'x'), result(2, 'xy')];
    const error = await streamInfer(nats.client, REQUEST, {
      tenant: TENANT,
      onText: () => {},
      idleTimeoutMs: 300,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'INTERNAL', message: 'result counts 2 chunks; 1 arrived' });
  });

  it('gives up with DEADLINE_EXCEEDED when nothing answers', async () => {
    script = noAnswer;
    await expect(
      streamInfer(nats.client, REQUEST, { tenant: TENANT, onText: () => {}, idleTimeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('says NO_RESPONDERS at once when nothing listens on the infer subject (no scheduler leads)', async () => {
    const started = performance.now();
    const error = await streamInfer(nats.client, REQUEST, { tenant: 'nobody-home', onText: () => {} }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(NoRespondersError);
    expect(error).toMatchObject({ code: 'NO_RESPONDERS', message: expect.stringContaining('nobody-home') });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
