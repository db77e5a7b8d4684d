import { type ErrorCode, type InferRequest } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { AdmissionConfigError } from '../../core/admission/admission-config.js';
import { type NodeSpec, registration } from '../../core/test-fixtures.js';
import type { TopologySpec } from '../../core/topology/topology.js';
import { InferenceConfigError } from '../inference-service.js';
import { NODES, placedIds, request, type SetupOptions, settle, setup } from './test-fixtures.js';

const TOPOLOGY: TopologySpec = {
  clusters: [{ name: 'cluster-a', location: 'fra', powerBudgetWatts: 1e9 }],
  regions: [
    { name: 'eu-west', latencyMs: { 'cluster-a': 20 } },
    { name: 'us-east', latencyMs: { 'cluster-a': 90 } },
  ],
};
const L4_ONLY: NodeSpec[] = [NODES[2]!];
const encode = (body: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(body));

describe('admission: requests no node could ever serve are refused at once', () => {
  it.each<{
    name: string;
    options?: SetupOptions;
    request: Partial<InferRequest>;
    code: ErrorCode;
    message: RegExp;
  }>([
    {
      name: 'a region the topology does not know',
      options: { topology: TOPOLOGY },
      request: { region: 'mars-1' },
      code: 'UNKNOWN_REGION',
      message: /region mars-1 is not in the topology \(known: eu-west, us-east\)/,
    },
    {
      name: 'any region when none is configured',
      request: { region: 'eu-west' },
      code: 'UNKNOWN_REGION',
      message: /no regions are configured/,
    },
    {
      name: 'a model not in the catalogue',
      request: { model: 'gpt-9' },
      code: 'UNKNOWN_MODEL',
      message: /gpt-9 is not in the scheduler's catalogue/,
    },
    {
      name: 'more context than any node serving the model holds',
      options: { nodes: L4_ONLY },
      request: { inputTokens: 600_000, maxOutputTokens: 100_000 },
      code: 'INVALID_REQUEST',
      message:
        /inputTokens \+ maxOutputTokens = 700000 needs 91\.8 GB of KV cache; the largest node serving llama-3\.1-8b holds 610351 tokens/,
    },
    {
      name: 'a deadline shorter than the fastest completion on any node',
      request: { deadlineAfterMs: 50, maxOutputTokens: 1_000 },
      code: 'DEADLINE_UNREACHABLE',
      message: /deadlineAfterMs 50 is shorter than the fastest possible completion of 500 \+ 1000 tokens/,
    },
    {
      name: 'no deadline, but more output than the default deadline allows on any node',
      options: { nodes: L4_ONLY },
      request: { maxOutputTokens: 10_000 },
      code: 'DEADLINE_UNREACHABLE',
      message: /deadlineAfterMs 300000 is shorter .*; the request set no deadline, so the scheduler's default applies/,
    },
    {
      name: 'a deadline the region’s round trip alone breaks',
      options: { topology: TOPOLOGY, nodes: [{ ...NODES[0]!, cluster: 'cluster-a' }] },
      request: { region: 'us-east', deadlineAfterMs: 80, inputTokens: 10, maxOutputTokens: 1 },
      code: 'DEADLINE_UNREACHABLE',
      message: /deadlineAfterMs 80/,
    },
  ])('$name → $code', ({ options, request: extra, code, message }) => {
    const { service, outbox, counters, fleet } = setup(options);
    service.submit('acme', request({ idempotencyKey: 'k1', ...extra }), 'r1');
    const [reply, ...more] = outbox.errorsTo('r1');
    expect(more).toEqual([]);
    expect(reply?.error).toMatchObject({ code, retryable: false, requestId: 'acme:k1' });
    expect(reply?.error.message).toMatch(message);
    expect(outbox.assigned).toEqual([]);
    expect(service.openRequests).toBe(0);
    expect(fleet.openReservations).toBe(0);
    expect(counters.get(`admission.rejected.${code}`)).toBe(1);
  });

  it('places a request from a known region, and one with a long prompt', () => {
    const { service, outbox } = setup({ topology: TOPOLOGY, nodes: [{ ...NODES[2]!, cluster: 'cluster-a' }] });
    service.submit('acme', request({ idempotencyKey: 'k1', region: 'eu-west' }), 'r1');
    service.submit('acme', request({ idempotencyKey: 'k2', inputTokens: 200_000, maxOutputTokens: 100 }), 'r2');
    expect(placedIds(outbox)).toEqual(['acme:k1', 'acme:k2']);
    expect(outbox.published).toEqual([]);
  });
});

describe('admission: malformed bodies through the service', () => {
  const valid = { v: 1, model: 'llama-3.1-8b', inputTokens: 10, maxOutputTokens: 5 };

  it.each<[name: string, body: Uint8Array, code: ErrorCode, message: RegExp]>([
    ['an unknown SLO class', encode({ ...valid, sloClass: 'realtime' }), 'INVALID_REQUEST', /sloClass/],
    ['negative input tokens', encode({ ...valid, inputTokens: -1 }), 'INVALID_REQUEST', /inputTokens/],
    ['zero output tokens', encode({ ...valid, maxOutputTokens: 0 }), 'INVALID_REQUEST', /maxOutputTokens/],
    ['tokens beyond the schema', encode({ ...valid, inputTokens: 3_000_000 }), 'INVALID_REQUEST', /inputTokens/],
    ['a negative deadline', encode({ ...valid, deadlineAfterMs: -5 }), 'INVALID_REQUEST', /deadlineAfterMs/],
    ['not JSON', new TextEncoder().encode('{"v":1,'), 'INVALID_REQUEST', /not valid JSON/],
    ['another protocol version', encode({ ...valid, v: 2 }), 'UNSUPPORTED_VERSION', /version 2/],
  ])('%s → %s', (_name, body, code, message) => {
    const { service, outbox, counters } = setup();
    service.submitMessage('acme', body, 'r1');
    const [reply, ...more] = outbox.errorsTo('r1');
    expect(more).toEqual([]);
    expect(reply?.error).toMatchObject({ code, retryable: false });
    expect(reply?.error.message).toMatch(message);
    expect(reply?.error.requestId).toBeUndefined();
    expect(outbox.assigned).toEqual([]);
    expect(service.openRequests).toBe(0);
    expect(counters.get(`invalid.${code}`)).toBe(1);
    expect(counters.get('requests.received')).toBe(0);
  });

  it('submits a valid body', () => {
    const { service, outbox } = setup();
    service.submitMessage('acme', encode({ ...valid, idempotencyKey: 'k1' }), 'r1');
    expect(placedIds(outbox)).toEqual(['acme:k1']);
  });
});

describe('admission: a scheduler still learning its fleet', () => {
  it('lets requests wait during warm-up, skipping the checks a missing node could change, and places them when it registers', async () => {
    const { service, fleet, outbox, now, advance } = setup({ nodes: L4_ONLY });
    service.warmUpUntil(now() + 800);
    // The L4 cannot run the 70B model nor hold this much context; a node yet to report may.
    service.submit('acme', request({ idempotencyKey: 'k1', model: 'llama-3.3-70b' }), 'r1');
    service.submit('acme', request({ idempotencyKey: 'k2', inputTokens: 1_000_000 }), 'r2');
    expect(outbox.published).toEqual([]);
    expect(service.admissionStats().interactive.waitingForCapacity).toBe(2);
    advance(100);
    fleet.register(registration({ nodeId: 'big', profile: 'h200' }), now());
    service.capacityMayHaveFreed();
    await settle();
    expect(placedIds(outbox).toSorted()).toEqual(['acme:k1', 'acme:k2']);
    expect(outbox.assigned.every((a) => a.nodeId === 'big')).toBe(true);
  });

  it('answers UNKNOWN_MODEL on the first tick after warm-up when still no node can run the model', () => {
    const { service, outbox, now, advance } = setup({ nodes: L4_ONLY });
    service.warmUpUntil(now() + 800);
    service.submit('acme', request({ idempotencyKey: 'k1', model: 'llama-3.3-70b' }), 'r1');
    advance(799);
    service.expireOverdue();
    expect(outbox.published).toEqual([]);
    advance(1);
    service.expireOverdue();
    expect(outbox.errorsTo('r1').map((e) => e.error.code)).toEqual(['UNKNOWN_MODEL']);
    expect(service.openRequests).toBe(0);
  });

  it('answers NO_CAPACITY, saying why, when warm-up outlasts the wait', () => {
    const { service, outbox, now, advance } = setup({ nodes: L4_ONLY });
    service.warmUpUntil(now() + 5_000);
    service.submit('acme', request({ idempotencyKey: 'k1', model: 'llama-3.3-70b' }), 'r1');
    advance(1_000);
    service.expireOverdue();
    const [reply] = outbox.errorsTo('r1');
    expect(reply?.error).toMatchObject({ code: 'NO_CAPACITY', retryable: true });
    expect(reply?.error.message).toMatch(/still learning the fleet/);
  });
});

describe('admission configuration', () => {
  it.each<[name: string, options: SetupOptions, error: new (message: string) => Error, message: RegExp]>([
    [
      'a zero class concurrency',
      { config: { admission: { classes: { interactive: { concurrency: 0 } } } } },
      AdmissionConfigError,
      /classes\.interactive\.concurrency/,
    ],
    [
      'a negative tenant weight',
      { config: { admission: { tenantWeights: { acme: -1 } } } },
      AdmissionConfigError,
      /acme/,
    ],
    ['a negative assign timeout', { config: { assignTimeoutMs: -1 } }, InferenceConfigError, /assignTimeoutMs/],
  ])('refuses %s when the service is built', (_name, options, error, message) => {
    expect(() => setup(options)).toThrow(error);
    expect(() => setup(options)).toThrow(message);
  });
});
