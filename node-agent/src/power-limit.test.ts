import { getModel, getProfile } from '@switchyard/fleet-model';
import { ErrorReply, MAX_MESSAGE_BYTES, PowerLimitAck } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import type { BackendListener, BackendStatus } from './backends/backend.js';
import { NullBackend } from './backends/null-backend.js';
import type { AgentLogger } from './node-agent.js';
import { applyPowerLimit, type PowerLimitTarget } from './power-limit.js';

/** 8 × H100: the hardware accepts 1600..5600 W node-wide. */
const hardware = { profile: getProfile('h100')!, chipCount: 8 };
const noEvents: BackendListener = { firstToken() {}, text() {}, completed() {}, failed() {} };
const bytes = (body: string | object): Uint8Array =>
  new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));

/** Keeps every log line, so tests can check that the reason reached the log. */
class RecordingLog implements AgentLogger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  debug(fields: object, message: string): void {
    this.lines.push({ level: 'debug', fields: { ...fields }, message });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields: { ...fields }, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields: { ...fields }, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields: { ...fields }, message });
  }
}

function nullTarget(overrides: Partial<PowerLimitTarget> = {}) {
  const backend = new NullBackend(hardware, ['llama-3.1-8b'], getModel, noEvents);
  const log = new RecordingLog();
  return { backend, log, target: { nodeId: 'n-1', backend, log, stopped: false, ...overrides } };
}

describe('applyPowerLimit', () => {
  it.each([
    ['inside the range', 3000, 3000],
    ['below the minimum', 100, 1600],
    ['zero', 0, 1600],
    ['above the peak', 9000, 5600],
    ['fractional', 2500.5, 2500.5],
  ])('applies a limit %s clamped to the hardware range (%d W → %d W)', async (_name, requested, applied) => {
    const { backend, log, target } = nullTarget();
    const reply = await applyPowerLimit(bytes({ v: 1, limitWatts: requested, reason: 'fra-1 cap stage' }), target);
    expect(PowerLimitAck.parse(reply)).toEqual({ v: 1, ok: true, nodeId: 'n-1', appliedWatts: applied });
    expect(backend.status().powerLimitWatts).toBe(applied);
    expect(log.lines).toEqual([
      {
        level: 'info',
        message: 'power limit applied',
        fields: {
          nodeId: 'n-1',
          requestedWatts: requested,
          appliedWatts: applied,
          previousWatts: 5600,
          clamped: requested !== applied,
          reason: 'fra-1 cap stage',
        },
      },
    ]);
  });

  it('replaces the previous limit each time (a re-sent command is harmless)', async () => {
    const { backend, target } = nullTarget();
    for (const watts of [2000, 2000, 4000])
      await applyPowerLimit(bytes({ v: 1, limitWatts: watts, reason: 'r' }), target);
    expect(backend.status().powerLimitWatts).toBe(4000);
  });

  it.each([
    ['malformed JSON', '{"v":1,"limitWatts":', 'INVALID_REQUEST', /not valid JSON/],
    ['an empty body', '', 'INVALID_REQUEST', /empty/],
    ['a JSON array', '[1]', 'INVALID_REQUEST', /JSON object/],
    ['no version', { limitWatts: 3000, reason: 'r' }, 'INVALID_REQUEST', /"v"/],
    ['a future version', { v: 2, limitWatts: 3000, reason: 'r' }, 'UNSUPPORTED_VERSION', /version 2/],
    ['no limit', { v: 1, reason: 'r' }, 'INVALID_REQUEST', /limitWatts/],
    ['a negative limit', { v: 1, limitWatts: -1, reason: 'r' }, 'INVALID_REQUEST', /limitWatts/],
    ['a string limit', { v: 1, limitWatts: '3000', reason: 'r' }, 'INVALID_REQUEST', /limitWatts/],
    ['an absurd limit', { v: 1, limitWatts: 1e12, reason: 'r' }, 'INVALID_REQUEST', /limitWatts/],
    ['no reason', { v: 1, limitWatts: 3000 }, 'INVALID_REQUEST', /reason/],
    ['a reason over 256 chars', { v: 1, limitWatts: 3000, reason: 'x'.repeat(257) }, 'INVALID_REQUEST', /reason/],
    ['an unknown field', { v: 1, limitWatts: 3000, reason: 'r', force: true }, 'INVALID_REQUEST', /force/],
    [
      'an oversize body',
      { v: 1, limitWatts: 3000, reason: 'r', pad: 'x'.repeat(MAX_MESSAGE_BYTES) },
      'PAYLOAD_TOO_LARGE',
      /limit is/,
    ],
  ] as const)('refuses %s with %s and leaves the limit alone', async (_name, body, code, message) => {
    const { backend, log, target } = nullTarget();
    const reply = ErrorReply.parse(await applyPowerLimit(bytes(body), target));
    expect(reply.error).toMatchObject({ code, retryable: false });
    expect(reply.error.message).toMatch(message);
    expect(backend.status().powerLimitWatts).toBe(5600);
    expect(log.lines.map((l) => [l.level, l.message])).toEqual([['warn', 'invalid power limit command refused']]);
  });

  it('refuses invalid UTF-8', async () => {
    const { target } = nullTarget();
    const reply = ErrorReply.parse(await applyPowerLimit(new Uint8Array([0x7b, 0xff, 0x7d]), target));
    expect(reply.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'body is not valid UTF-8' });
  });

  it('answers NODE_DRAINING once the node has stopped, without touching the backend', async () => {
    const { backend, target } = nullTarget({ stopped: true });
    const reply = ErrorReply.parse(await applyPowerLimit(bytes({ v: 1, limitWatts: 3000, reason: 'r' }), target));
    expect(reply.error).toMatchObject({ code: 'NODE_DRAINING', retryable: true });
    expect(backend.status().powerLimitWatts).toBe(5600);
  });

  it('turns a backend failure into an INTERNAL reply naming the node and the cause', async () => {
    const log = new RecordingLog();
    const status = new NullBackend(hardware, [], getModel, noEvents).status();
    const failing: PowerLimitTarget['backend'] = {
      status: (): BackendStatus => status,
      setPowerLimit: () => {
        throw new Error('nvidia-smi: insufficient permissions');
      },
    };
    const reply = ErrorReply.parse(
      await applyPowerLimit(bytes({ v: 1, limitWatts: 3000, reason: 'r' }), {
        nodeId: 'n-1',
        backend: failing,
        log,
        stopped: false,
      }),
    );
    expect(reply.error.code).toBe('INTERNAL');
    expect(reply.error.message).toMatch(
      /n-1 could not apply a 3000 W power limit: nvidia-smi: insufficient permissions/,
    );
    expect(log.lines.map((l) => l.level)).toEqual(['error']);
  });
});

describe('NullBackend power limit', () => {
  it('starts at the operator limit (clamped) and records the limits it is given', () => {
    const backend = new NullBackend(hardware, [], getModel, noEvents, undefined, 1000);
    expect(backend.status().powerLimitWatts).toBe(1600);
    expect(backend.setPowerLimit(4321)).toBe(4321);
    expect(backend.status()).toMatchObject({ powerLimitWatts: 4321, powerDrawWatts: 0 });
  });
});
