import { decode, encode, MAX_MESSAGE_BYTES, NodeNotice, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, infer, type NatsFixture, rawRequest, type Stack, startStack, waitFor } from './harness.js';

const inferSubject = subjects.infer('tests');
const validInfer = { v: 1, model: 'llama-3.1-8b', inputTokens: 10, maxOutputTokens: 4 };

function heartbeatOf(nodeId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    nodeId,
    incarnation: 'inc-x',
    seq: 1,
    sentAtMs: Date.now(),
    cluster: 'c',
    zone: 'z',
    state: 'ready',
    accelerator: { profile: 'h100', count: 8, hbmTotalBytes: 640e9, hbmUsedBytes: 16e9 },
    models: [{ name: 'llama-3.1-8b', state: 'loaded' }],
    queueDepth: 0,
    inFlight: 0,
    maxBatchSize: 256,
    utilization: 0,
    powerDrawWatts: 500,
    powerLimitWatts: 5600,
    temperatureC: 40,
    ...overrides,
  };
}

describe('hostile and malformed input gets a typed error and never stops either process', () => {
  let stack: Stack;
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;

  beforeAll(async () => {
    stack = await startStack([h100('solid-0')]);
    ({ nats, scheduler } = stack);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it.each([
    ['malformed JSON', '{"v":1,', 'INVALID_REQUEST', /not valid JSON/],
    ['a JSON array', '[1,2,3]', 'INVALID_REQUEST', /JSON object/],
    ['an empty body', '', 'INVALID_REQUEST', /empty/],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'INVALID_REQUEST', /UTF-8/],
    ['a missing version', JSON.stringify({ ...validInfer, v: undefined }), 'INVALID_REQUEST', /"v"/],
    ['an unknown protocol version', JSON.stringify({ ...validInfer, v: 2 }), 'UNSUPPORTED_VERSION', /version 2/],
    ['a wrong type', JSON.stringify({ ...validInfer, inputTokens: 'many' }), 'INVALID_REQUEST', /inputTokens/],
    ['a negative count', JSON.stringify({ ...validInfer, maxOutputTokens: -5 }), 'INVALID_REQUEST', /maxOutputTokens/],
    ['an unknown field', JSON.stringify({ ...validInfer, temperature: 0.7 }), 'INVALID_REQUEST', /temperature/],
    [
      'a __proto__ key',
      `{"v":1,"model":"llama-3.1-8b","inputTokens":1,"maxOutputTokens":1,"__proto__":{"polluted":true}}`,
      'INVALID_REQUEST',
      /__proto__/,
    ],
    [
      'an oversize body',
      JSON.stringify({ ...validInfer, prompt: 'x'.repeat(MAX_MESSAGE_BYTES) }),
      'PAYLOAD_TOO_LARGE',
      /limit/,
    ],
  ] as const)('inference request with %s → %s', async (_name, body, code, message) => {
    const reply = await rawRequest(nats.client, inferSubject, body);
    expect(reply).toMatchObject({ v: 1, ok: false, error: { code, retryable: false } });
    expect((reply as { error: { message: string } }).error.message).toMatch(message);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses registrations whose body contradicts the subject, or with an unknown profile', async () => {
    const mismatch = await rawRequest(
      nats.client,
      subjects.register('node-a'),
      JSON.stringify({ ...heartbeatOf('node-b'), agentVersion: 't', heartbeatIntervalMs: 100 }),
    );
    expect(mismatch).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const unknownProfile = await rawRequest(
      nats.client,
      subjects.register('node-c'),
      JSON.stringify({
        ...heartbeatOf('node-c', { accelerator: { profile: 'tpu-v9', count: 1, hbmTotalBytes: 1, hbmUsedBytes: 0 } }),
        agentVersion: 't',
        heartbeatIntervalMs: 100,
      }),
    );
    expect(unknownProfile).toMatchObject({ ok: false, error: { code: 'UNKNOWN_PROFILE' } });
    expect(scheduler.fleet.get('node-a')).toBeUndefined();
    expect(scheduler.fleet.get('node-c')).toBeUndefined();
  });

  it('tells an unknown node that heartbeats to register, and does not add it to the fleet', async () => {
    const notices = nats.client.subscribe(subjects.notice('ghost-1'), { max: 1 });
    nats.client.publish(subjects.heartbeat('ghost-1'), JSON.stringify(heartbeatOf('ghost-1')));
    for await (const msg of notices) {
      const notice = decode(NodeNotice, msg.data);
      expect(notice).toMatchObject({ ok: true, value: { action: 'register' } });
    }
    expect(scheduler.fleet.get('ghost-1')).toBeUndefined();
    expect(scheduler.counters.get('dropped.unknown-node')).toBeGreaterThanOrEqual(1);
  });

  it('drops and counts malformed, oversize and impersonating fire-and-forget messages', async () => {
    const before = (name: string): number => scheduler.counters.get(name);
    const invalid = before('dropped.invalid.INVALID_REQUEST');
    const oversize = before('dropped.invalid.PAYLOAD_TOO_LARGE');
    const mismatch = before('dropped.identity-mismatch');
    nats.client.publish(subjects.heartbeat('solid-0'), '{not json');
    nats.client.publish(subjects.heartbeat('solid-0'), JSON.stringify(heartbeatOf('solid-0', { queueDepth: -1 })));
    nats.client.publish(subjects.result('solid-0'), JSON.stringify({ v: 1, nodeId: 'solid-0' }));
    nats.client.publish(subjects.heartbeat('solid-0'), new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x20));
    nats.client.publish(subjects.heartbeat('solid-0'), JSON.stringify(heartbeatOf('intruder-9')));
    nats.client.publish(inferSubject, JSON.stringify(validInfer)); // no reply subject: nobody to answer
    await waitFor(
      () =>
        before('dropped.invalid.INVALID_REQUEST') >= invalid + 4 &&
        before('dropped.invalid.PAYLOAD_TOO_LARGE') === oversize + 1 &&
        before('dropped.identity-mismatch') === mismatch + 1,
      'the drops to be counted',
    );
    expect(scheduler.fleet.get('intruder-9')).toBeUndefined();
    expect(scheduler.fleet.get('solid-0')?.queueDepth).toBeGreaterThanOrEqual(0);
  });

  it('answers bad admin commands with a typed error', async () => {
    expect(
      await rawRequest(nats.client, 'sy.v1.admin.node.explode', JSON.stringify({ v: 1, nodeId: 'solid-0' })),
    ).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/explode/) },
    });
    expect(
      await rawRequest(nats.client, subjects.adminNode('drain'), JSON.stringify({ v: 1, nodeId: 'nobody' })),
    ).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_NODE' },
    });
  });

  it('has the agent reject malformed assignments with a typed error', async () => {
    const reply = await rawRequest(nats.client, subjects.assign('solid-0'), JSON.stringify({ v: 1, requestId: 'r1' }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const oversize = await rawRequest(
      nats.client,
      subjects.assign('solid-0'),
      new Uint8Array(MAX_MESSAGE_BYTES + 10).fill(0x61),
    );
    expect(oversize).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('still serves real work after all of the above', async () => {
    expect(await infer(nats.client, {})).toMatchObject({ ok: true, nodeId: 'solid-0' });
    expect(scheduler.counters.get('handler.errors')).toBe(0);
    expect(encode(validInfer).byteLength).toBeGreaterThan(0);
  });
});
