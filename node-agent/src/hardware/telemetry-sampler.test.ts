import { decode, Heartbeat } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import type { BackendStatus } from '../backends/backend.js';
import { HeartbeatBuilder } from '../heartbeat-builder.js';
import { type DeviceReading, type HardwareProbe, type HardwareReading, ProbeError } from './probe.js';
import { TelemetrySampler } from './telemetry-sampler.js';

const GIB = 1024 ** 3;

function device(index: number, extra: Partial<DeviceReading> = {}): DeviceReading {
  return {
    index,
    id: `GPU-${index}`,
    name: 'NVIDIA H100 80GB HBM3',
    memoryTotalBytes: 80 * GIB,
    memoryUsedBytes: 20 * GIB,
    utilization: 0.5,
    powerDrawWatts: 300,
    powerLimitWatts: 700,
    powerLimitRangeWatts: { min: 200, max: 700 },
    temperatureC: 50,
    ...extra,
  };
}

/** A probe whose reads are scripted: each call takes the next outcome (a reading or an error). */
class ScriptedProbe implements HardwareProbe {
  readonly kind = 'nvidia' as const;
  reads = 0;
  closed = false;
  constructor(private readonly outcomes: (readonly DeviceReading[] | ProbeError)[]) {}
  async read(): Promise<HardwareReading> {
    const outcome = this.outcomes[Math.min(this.reads++, this.outcomes.length - 1)]!;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (outcome instanceof ProbeError) throw outcome;
    return { kind: 'nvidia', devices: outcome, readAtMs: 0 };
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      warn: (_: object, m: string) => lines.push(`warn ${m}`),
      info: (_: object, m: string) => lines.push(`info ${m}`),
    },
  };
}

const BACKEND: BackendStatus = {
  queueDepth: 1,
  inFlight: 2,
  maxBatchSize: 64,
  busyMs: 0,
  hbmTotalBytes: 640 * GIB,
  hbmUsedBytes: 1 * GIB,
  powerDrawWatts: 1_000,
  powerLimitWatts: 5_600,
  temperatureC: 30,
  models: [{ name: 'llama-3.1-8b', state: 'loaded' }],
};

describe('TelemetrySampler', () => {
  it('puts the devices in place of the backend: memory and power summed, hottest device, mean utilisation', async () => {
    const { log } = recordingLog();
    const sampler = new TelemetrySampler(
      new ScriptedProbe([[device(0), device(1, { temperatureC: 71, utilization: 1, powerDrawWatts: 650 })]]),
      log,
    );
    await sampler.sample();
    const { status, utilization } = sampler.overlay(BACKEND);
    expect(status).toMatchObject({
      hbmTotalBytes: 160 * GIB,
      hbmUsedBytes: 40 * GIB,
      powerDrawWatts: 950,
      powerLimitWatts: 1_400,
      temperatureC: 71,
      queueDepth: 1,
      inFlight: 2,
    });
    expect(utilization).toBe(0.75);
    expect(sampler.field()).toEqual({ source: 'nvidia', devices: 2 });
  });

  it("keeps the backend's figure where no device reports one ([N/A] fields)", async () => {
    const blank = {
      powerDrawWatts: undefined,
      temperatureC: undefined,
      utilization: undefined,
      memoryUsedBytes: undefined,
    };
    const sampler = new TelemetrySampler(new ScriptedProbe([[device(0, blank)]]), recordingLog().log);
    await sampler.sample();
    const { status, utilization } = sampler.overlay(BACKEND);
    expect(status).toMatchObject({
      powerDrawWatts: 1_000,
      temperatureC: 30,
      hbmUsedBytes: 1 * GIB,
      hbmTotalBytes: 80 * GIB,
    });
    expect(utilization).toBeUndefined();
  });

  it('keeps the last good reading through failures, says degraded with the code, and recovers', async () => {
    const { lines, log } = recordingLog();
    const timeout = new ProbeError('PROBE_TIMEOUT', 'nvidia-smi did not answer within 2000 ms');
    const probe = new ScriptedProbe([[device(0)], timeout, timeout, [device(0, { powerDrawWatts: 500 })]]);
    const sampler = new TelemetrySampler(probe, log);
    await sampler.sample();
    await sampler.sample();
    await sampler.sample();
    expect(sampler.field()).toEqual({
      source: 'nvidia',
      devices: 1,
      error: { code: 'PROBE_TIMEOUT', message: 'nvidia-smi did not answer within 2000 ms' },
    });
    expect(sampler.overlay(BACKEND).status.powerDrawWatts).toBe(300);
    await sampler.sample();
    expect(sampler.field()).toEqual({ source: 'nvidia', devices: 1 });
    expect(sampler.overlay(BACKEND).status.powerDrawWatts).toBe(500);
    // One warning for the trouble, one note for the recovery: not one line per failed read.
    expect(lines).toEqual(['warn hardware probe failed; node degraded', 'info hardware probe recovered']);
  });

  it('joins a read already running instead of starting a second one, and closes the probe on stop', async () => {
    const probe = new ScriptedProbe([[device(0)]]);
    const sampler = new TelemetrySampler(probe, recordingLog().log);
    await Promise.all([sampler.sample(), sampler.sample(), sampler.sample()]);
    expect(probe.reads).toBe(1);
    await sampler.start(60_000);
    await sampler.stop();
    expect(probe.closed).toBe(true);
  });

  it('reads again after a change: a read already running may predate it (a power limit just set)', async () => {
    const probe = new ScriptedProbe([[device(0, { powerLimitWatts: 700 })], [device(0, { powerLimitWatts: 300 })]]);
    const sampler = new TelemetrySampler(probe, recordingLog().log);
    const running = sampler.sample(); // started before the change: it reads 700 W
    await sampler.sampleAfterNow();
    await running;
    expect(probe.reads).toBe(2);
    expect(sampler.latest?.devices[0]?.powerLimitWatts).toBe(300);
  });

  it('turns an unexpected error into PROBE_FAILED, never a rejection', async () => {
    const probe: HardwareProbe = {
      kind: 'neuron',
      read: () => Promise.reject(new Error('EACCES')),
      close: () => Promise.resolve(),
    };
    const sampler = new TelemetrySampler(probe, recordingLog().log);
    await expect(sampler.sample()).resolves.toBeUndefined();
    expect(sampler.field()).toEqual({
      source: 'neuron',
      devices: 0,
      error: { code: 'PROBE_FAILED', message: 'EACCES' },
    });
  });

  it('gives heartbeats the real figures and a telemetry field the protocol accepts', async () => {
    const sampler = new TelemetrySampler(new ScriptedProbe([[device(0), device(1)]]), recordingLog().log);
    await sampler.sample();
    const identity = { nodeId: 'gpu-0', cluster: 'fra', zone: 'fra-a', profile: 'h100', chipCount: 2 };
    const builder = new HeartbeatBuilder(
      identity,
      'inc-1',
      () => BACKEND,
      () => 1_000,
      sampler,
    );
    const heartbeat = builder.next('ready');
    expect(heartbeat).toMatchObject({
      powerDrawWatts: 600,
      utilization: 0.5,
      telemetry: { source: 'nvidia', devices: 2 },
    });
    const decoded = decode(Heartbeat, new TextEncoder().encode(JSON.stringify(heartbeat)));
    expect(decoded.ok).toBe(true);
    // Without a probe the heartbeat carries no telemetry field (the figures are simulated).
    expect(
      new HeartbeatBuilder(
        identity,
        'inc-1',
        () => BACKEND,
        () => 1_000,
      ).next('ready'),
    ).not.toHaveProperty('telemetry');
  });
});
