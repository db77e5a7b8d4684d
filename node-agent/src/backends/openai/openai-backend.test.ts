import { getModel, nodeHbmBytes, powerLimitRange } from '@switchyard/fleet-model';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeTokens } from './fake-vllm-wire.js';
import { OpenAiBackend } from './openai-backend.js';
import {
  backendOptions,
  closeStarted,
  hardware,
  healthyFetch,
  job,
  RecordingListener,
  startBackend,
  startFake,
  trackBackend,
  waitFor,
} from './openai-backend.test-support.js';

afterEach(closeStarted);
describe('OpenAiBackend against a fake vLLM over HTTP', () => {
  it('streams text in order after the first token and measures TTFT and time per output token', async () => {
    const fake = await startFake({ tokensPerSecond: 100, firstTokenDelayMs: 100 });
    const { backend, events } = await startBackend(fake.url);
    expect(backend.submit(job('a', 20))).toEqual({ ok: true, queueDepth: 0 });
    const completion = await events.completion('a');
    const expected = fakeTokens('prompt of a', 20);
    expect(events.of('a').map((event) => event.kind)).toEqual(['first', ...expected.map(() => 'text'), 'completed']);
    expect(events.texts('a')).toEqual(expected);
    expect(completion.text).toBe(expected.join(''));
    expect(completion.outputTokens).toBe(20);
    expect(completion.energyJoules).toBe(0);
    const { queueMs, loadMs, ttftMs, totalMs } = completion.timings;
    expect(queueMs).toBeLessThan(50);
    expect(loadMs).toBe(0);
    expect(ttftMs).toBeGreaterThanOrEqual(95);
    // 19 more tokens at 10 ms each; the upper bound only guards against a stuck stream on a slow VM.
    const timePerOutputTokenMs = (totalMs - ttftMs) / 19;
    expect(timePerOutputTokenMs).toBeGreaterThanOrEqual(8);
    expect(timePerOutputTokenMs).toBeLessThan(60);
    expect(fake.requestBodies).toEqual([
      { model: 'm', max_tokens: 20, stream: true, stream_options: { include_usage: true }, prompt: 'prompt of a' },
    ]);
    expect(backend.activeJobs).toBe(0);
  });

  it('speaks chat completions: one user message in, delta.content out', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY });
    const { backend, events } = await startBackend(fake.url, { api: 'chat' });
    backend.submit(job('c', 5));
    const completion = await events.completion('c');
    expect(events.texts('c')).toEqual(fakeTokens('prompt of c', 5));
    expect(completion.outputTokens).toBe(5);
    expect(fake.requestBodies[0]).toMatchObject({ messages: [{ role: 'user', content: 'prompt of c' }] });
  });

  it('sends placeholder text of about inputTokens words when the job has no prompt', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY });
    const { backend, events } = await startBackend(fake.url);
    backend.submit({ id: 'p', model: 'm', inputTokens: 500, maxOutputTokens: 1, priority: 'normal' });
    await events.completion('p');
    const sent = (fake.requestBodies[0] as { prompt: string }).prompt;
    expect(sent.startsWith('Request p:')).toBe(true);
    expect(sent.split(' ').length).toBeGreaterThanOrEqual(495);
    expect(sent.split(' ').length).toBeLessThanOrEqual(500);
  });

  it('counts output tokens from usage.completion_tokens, or the text chunks when the server sends no usage', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY, tokensPerChunk: 3 });
    const { backend, events } = await startBackend(fake.url);
    backend.submit(job('usage', 10));
    expect((await events.completion('usage')).outputTokens).toBe(10);
    expect(events.texts('usage')).toHaveLength(4);
    fake.omitUsage = true;
    backend.submit(job('chunks', 10));
    expect((await events.completion('chunks')).outputTokens).toBe(4);
  });

  it('waits out a slow first token, but fails a server silent for longer than requestTimeoutMs', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY, firstTokenDelayMs: 400 });
    const { backend, events } = await startBackend(fake.url, { requestTimeoutMs: 1_500 });
    backend.submit(job('slow', 3));
    expect((await events.completion('slow')).timings.ttftMs).toBeGreaterThanOrEqual(395);

    const impatient = await startBackend(fake.url, { requestTimeoutMs: 150 });
    impatient.backend.submit(job('stalled', 3));
    // Headers come at once and the body stays silent; were the headers late, the other message fits.
    expect(await impatient.events.outcome('stalled')).toMatchObject({
      kind: 'failed',
      code: 'NODE_LOST',
      message: expect.stringMatching(/^the model server (sent nothing for|did not answer within) 150 ms$/) as unknown,
    });
    await waitFor(() => fake.cancelled === 1, 'the fake to see the stalled request dropped');
  });

  it('completes at [DONE] and cuts the connection of a server that then never ends the response', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY });
    fake.holdOpenAfterDone = true;
    const { backend, events } = await startBackend(fake.url, { requestTimeoutMs: 150 });
    backend.submit(job('done', 3));
    expect((await events.completion('done')).outputTokens).toBe(3);
    await waitFor(() => fake.cancelled === 1, 'the backend to drop the connection left open');
    expect(events.of('done').filter((event) => event.kind === 'failed')).toEqual([]);
  });

  it('fails a stream the server cuts mid-answer, after the text that did arrive', async () => {
    const fake = await startFake({ tokensPerSecond: 1_000 });
    fake.dropAfterTokens = 5;
    const { backend, events } = await startBackend(fake.url);
    backend.submit(job('cut', 50));
    const outcome = await events.outcome('cut');
    expect(outcome).toMatchObject({ kind: 'failed', code: 'NODE_LOST' });
    expect(outcome.kind === 'failed' && outcome.message).toMatch(/closed the stream after 5 chunks/);
    expect(events.texts('cut')).toEqual(fakeTokens('prompt of cut', 5));
    expect(backend.activeJobs).toBe(0);
  });

  it('maps server errors to codes: 500 INTERNAL, 503 OVERLOADED, an error event mid-stream', async () => {
    const fake = await startFake({ tokensPerSecond: Number.POSITIVE_INFINITY });
    const { backend, events } = await startBackend(fake.url);
    fake.failWith = { status: 500, message: 'boom' };
    backend.submit(job('e500', 5));
    expect(await events.outcome('e500')).toEqual({
      kind: 'failed',
      jobId: 'e500',
      code: 'INTERNAL',
      message: 'the model server answered 500: boom',
    });
    fake.failWith = { status: 503, message: 'busy' };
    backend.submit(job('e503', 5));
    expect(await events.outcome('e503')).toMatchObject({ code: 'OVERLOADED' });
    fake.failWith = undefined;
    fake.errorAfterTokens = 2;
    backend.submit(job('mid', 5));
    expect(await events.outcome('mid')).toMatchObject({
      code: 'INTERNAL',
      message: 'the model server failed mid-stream: engine failure injected by the fake server',
    });
    expect(events.texts('mid')).toHaveLength(2);
  });

  it('fails work when the connection is refused', async () => {
    const fake = await startFake();
    const deadUrl = fake.url;
    await fake.close();
    const events = new RecordingListener();
    const backend = new OpenAiBackend({ ...backendOptions(deadUrl), fetch: healthyFetch }, events);
    trackBackend(backend);
    await backend.refresh();
    backend.submit(job('refused', 5));
    expect(await events.outcome('refused')).toMatchObject({
      kind: 'failed',
      code: 'NODE_LOST',
      message: expect.stringMatching(
        /^cannot reach the model server at .*: fetch failed: connect ECONNREFUSED/,
      ) as unknown,
    });
  });

  it('fails work when the server dies, then refuses new work once checks fail', async () => {
    const fake = await startFake();
    const { backend, events } = await startBackend(fake.url, { unhealthyAfterFailures: 1 });
    await fake.close();
    backend.submit(job('refused', 5));
    // A pooled keep-alive socket fails with "other side closed"; a new connection is refused.
    expect(await events.outcome('refused')).toMatchObject({
      kind: 'failed',
      code: 'NODE_LOST',
      message: expect.stringMatching(/^cannot reach the model server at .*(ECONNREFUSED|other side closed)/) as unknown,
    });
    await backend.refresh();
    expect(backend.submit(job('later', 5))).toMatchObject({ ok: false, code: 'NODE_DRAINING' });
    expect(backend.status().models).toEqual([]);
  });

  it('cancel aborts the HTTP request: the server sees the disconnect and no outcome follows', async () => {
    const fake = await startFake({ tokensPerSecond: 50 });
    const { backend, events } = await startBackend(fake.url);
    backend.submit(job('long', 1_000));
    await waitFor(() => events.texts('long').length > 0, 'the first text');
    expect(backend.cancel('long')).toBe(true);
    expect(backend.cancel('long')).toBe(false);
    expect(backend.activeJobs).toBe(0);
    await waitFor(() => fake.cancelled === 1, 'the fake to see the disconnect');
    backend.submit(job('after', 2));
    await events.completion('after');
    expect(events.of('long').filter((event) => event.kind === 'completed' || event.kind === 'failed')).toEqual([]);
  });

  it('keeps at most maxConcurrency requests at the server and queues the rest by priority', async () => {
    const fake = await startFake({ tokensPerSecond: 200 });
    const { backend, events } = await startBackend(fake.url, { maxConcurrency: 2 });
    for (const id of ['j1', 'j2', 'j3', 'j4']) backend.submit(job(id, 10));
    backend.submit(job('urgent', 10, { priority: 'high' }));
    expect(backend.status()).toMatchObject({ inFlight: 2, queueDepth: 3, maxBatchSize: 2 });
    await Promise.all(['j1', 'j2', 'j3', 'j4', 'urgent'].map((id) => events.completion(id)));
    expect(fake.peakOpen).toBe(2);
    // j1 and j2 race to the server; the high-priority job takes the first free slot.
    const starts = fake.requestBodies.map((body) => (body as { prompt: string }).prompt);
    expect(starts.slice(0, 2).sort()).toEqual(['prompt of j1', 'prompt of j2']);
    expect(starts[2]).toBe('prompt of urgent');
  });

  it('refuses at once: a full queue with OVERLOADED, an unknown model, a duplicate id', async () => {
    const fake = await startFake({ tokensPerSecond: 20, models: ['m', 'other'] });
    const { backend } = await startBackend(fake.url, { maxConcurrency: 1, maxQueue: 1, models: ['m', 'ghost'] });
    expect(backend.submit(job('run', 100))).toMatchObject({ ok: true });
    expect(backend.submit(job('wait', 100))).toEqual({ ok: true, queueDepth: 1 });
    expect(backend.submit(job('over', 100))).toMatchObject({ ok: false, code: 'OVERLOADED' });
    expect(backend.submit(job('run', 100))).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(backend.submit(job('x', 1, { model: 'other' }))).toMatchObject({ ok: false, code: 'UNKNOWN_MODEL' });
    // Configured here but missing from the server's /v1/models.
    expect(backend.submit(job('y', 1, { model: 'ghost' }))).toMatchObject({
      ok: false,
      code: 'UNKNOWN_MODEL',
      message: expect.stringContaining('does not list ghost') as unknown,
    });
  });

  it('reports running, waiting and KV-cache memory from the scraped metrics, both KV gauge names', async () => {
    const fake = await startFake({ tokensPerSecond: 1_000, maxNumSeqs: 1 });
    // One token each, then silence: the KV figure stays put while the test reads it.
    fake.stallAfterTokens = 1;
    let offsetMs = 0;
    const spec = getModel('llama-3.1-8b')!;
    const { backend } = await startBackend(fake.url, {
      maxConcurrency: 3,
      requestTimeoutMs: 600_000,
      modelSpecs: (name) => (name === 'm' ? spec : undefined),
      clock: () => performance.now() + offsetMs,
    });
    for (const id of ['k1', 'k2', 'k3']) backend.submit(job(id, 100));
    await waitFor(() => fake.running === 1 && fake.waiting === 2, 'one running and two waiting in the fake');
    await waitFor(() => fake.kvCacheUsage > 0, 'the first token');
    await backend.refresh();
    const total = nodeHbmBytes(hardware);
    const expectedUsed = Math.round(spec.weightBytes + fake.kvCacheUsage * (total - spec.weightBytes));
    expect(backend.status()).toMatchObject({
      inFlight: 1,
      queueDepth: 2,
      hbmTotalBytes: total,
      hbmUsedBytes: expectedUsed,
    });
    fake.kvCacheMetric = 'vllm:gpu_cache_usage_perc';
    await backend.refresh();
    expect(backend.status().hbmUsedBytes).toBe(expectedUsed);
    // Metrics older than max(2 s, 3 check intervals) no longer describe the server: our own counts do.
    offsetMs = 3 * 600_000 + 1;
    expect(backend.status()).toMatchObject({ inFlight: 3, queueDepth: 0, hbmUsedBytes: spec.weightBytes });
  });

  it('goes unhealthy after failed checks: no models, work refused, queued work failed; recovers', async () => {
    const fake = await startFake({ tokensPerSecond: 20 });
    const { backend, events } = await startBackend(fake.url, { maxConcurrency: 1 });
    expect(backend.status().models).toEqual([{ name: 'm', state: 'loaded' }]);
    backend.submit(job('running', 100));
    backend.submit(job('queued', 5));
    fake.healthy = false;
    await backend.refresh();
    expect(backend.status().models).toHaveLength(1);
    await backend.refresh();
    expect(backend.status().models).toEqual([]);
    expect(backend.submit(job('new', 5))).toMatchObject({
      ok: false,
      code: 'NODE_DRAINING',
      message: expect.stringContaining('GET /health answered 503') as unknown,
    });
    expect(await events.outcome('queued')).toMatchObject({ kind: 'failed', code: 'NODE_LOST' });
    fake.healthy = true;
    await backend.refresh();
    expect(backend.status().models).toEqual([{ name: 'm', state: 'loaded' }]);
    expect(backend.submit(job('new', 5))).toMatchObject({ ok: true });
  });

  it('refuses work while the server has never answered a health check', async () => {
    const fake = await startFake();
    const deadUrl = fake.url;
    await fake.close();
    const { backend } = await startBackend(deadUrl);
    expect(backend.submit(job('early', 5))).toMatchObject({
      ok: false,
      code: 'NODE_DRAINING',
      message: expect.stringContaining('not ready yet') as unknown,
    });
    expect(backend.status().models).toEqual([]);
  });

  it('sheds concurrency in proportion to the power limit, at least one request', async () => {
    const fake = await startFake({ tokensPerSecond: 200 });
    const { backend, events } = await startBackend(fake.url, { maxConcurrency: 4 });
    const { minWatts, maxWatts } = powerLimitRange(hardware);
    expect(backend.setPowerLimit(maxWatts / 2)).toBe(maxWatts / 2);
    expect(backend.status()).toMatchObject({ maxBatchSize: 2, powerLimitWatts: maxWatts / 2 });
    for (const id of ['p1', 'p2', 'p3', 'p4']) backend.submit(job(id, 10));
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map((id) => events.completion(id)));
    expect(fake.peakOpen).toBe(2);
    expect(backend.setPowerLimit(0)).toBe(minWatts);
    expect(backend.status().maxBatchSize).toBe(Math.max(1, Math.floor((4 * minWatts) / maxWatts)));
    expect(backend.setPowerLimit(Number.POSITIVE_INFINITY)).toBe(maxWatts);
    expect(backend.status().maxBatchSize).toBe(4);

    const capped = await startBackend(fake.url, { maxConcurrency: 4, shedConcurrencyUnderPowerLimit: false });
    expect(capped.backend.setPowerLimit(maxWatts / 2)).toBe(maxWatts / 2);
    expect(capped.backend.status()).toMatchObject({ maxBatchSize: 4, powerLimitWatts: maxWatts / 2 });
  });

  it('close aborts requests in flight without reporting them, and refuses work after', async () => {
    const fake = await startFake({ tokensPerSecond: 50 });
    const { backend, events } = await startBackend(fake.url);
    backend.submit(job('open', 1_000));
    await waitFor(() => events.texts('open').length > 0, 'the first text');
    backend.close();
    await waitFor(() => fake.cancelled === 1, 'the fake to see the disconnect');
    expect(backend.submit(job('late', 5))).toMatchObject({ ok: false, code: 'NODE_DRAINING' });
    expect(events.of('open').filter((event) => event.kind === 'completed' || event.kind === 'failed')).toEqual([]);
    expect(backend.activeJobs).toBe(0);
  });
});
