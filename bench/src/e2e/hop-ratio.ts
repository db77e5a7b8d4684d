import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { decode, encode, InferReply, StatusResponse, subjects } from '@switchyard/protocol';
import { ManagedProcess, NatsServerProcess } from '@switchyard/test-kit';
import { latencyStats } from '../report/percentiles.js';
import { probeAssignment } from './probe-assignment.js';
import { formatTable } from '../report/table.js';

/** The three ways a request reaches the agent, measured in one run, interleaved. */
export const HOP_MODES = ['direct', 'bare-forward', 'scheduler'] as const;
export type HopMode = (typeof HOP_MODES)[number];

export interface HopRatioOptions {
  /** Measured requests per mode (after warm-up). */
  readonly requests: number;
  readonly warmup: number;
  readonly cliEntry: string;
  readonly forwarderEntry: string;
}

export interface HopRatioResult {
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly requests: number;
  readonly latencyUs: Record<HopMode, { p50: number; p90: number; p99: number; mean: number }>;
  /** Latency of each mode divided by the direct path's, at p50 and p99. */
  readonly ratio: Record<Exclude<HopMode, 'direct'>, { p50: number; p99: number }>;
}

const NODE = 'hop-0';
const MODEL = 'llama-3.1-8b';

/** Round-trip to the agent's answer: one message out, the InferResult back on our inbox. */
class Prober {
  private readonly waiters = new Map<string, () => void>();
  private readonly inbox = createInbox();
  private seq = 0;

  constructor(private readonly nc: NatsConnection) {
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const decoded = decode(InferReply, msg.data);
        if (!decoded.ok || !decoded.value.ok)
          throw new Error(`bad answer on ${msg.subject}: ${new TextDecoder().decode(msg.data)}`);
        this.waiters.get(msg.subject)?.();
        this.waiters.delete(msg.subject);
      },
    });
  }

  async probe(mode: HopMode): Promise<number> {
    const replyTo = `${this.inbox}.${++this.seq}`;
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${mode}: no answer within 5 s`)), 5000);
      this.waiters.set(replyTo, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const started = performance.now();
    if (mode === 'scheduler') {
      this.nc.publish(subjects.infer('bench'), encode({ v: 1, model: MODEL, inputTokens: 16, maxOutputTokens: 4 }), {
        reply: replyTo,
      });
    } else {
      const assignment = probeAssignment(MODEL, `direct-${this.seq}`, replyTo);
      this.nc.publish(mode === 'direct' ? subjects.assign(NODE) : `bench.forward.${NODE}`, encode(assignment));
    }
    await answered;
    return (performance.now() - started) * 1000;
  }
}

/**
 * Measures the scheduler hop: the same tiny request through the scheduler, straight to the agent,
 * and through a bare NATS forwarder, interleaved in one run against real processes (nats-server,
 * scheduler, agent with the null backend so model time hides nothing).
 */
export async function runHopRatio(options: HopRatioOptions): Promise<HopRatioResult> {
  const nats = await NatsServerProcess.start({ jetstream: false });
  const processes: ManagedProcess[] = [];
  const spawn = (args: string[], ready: RegExp): ManagedProcess => {
    const child = new ManagedProcess({
      command: process.execPath,
      args,
      readyPattern: ready,
      env: { ...process.env, SWITCHYARD_NATS_URL: nats.url, SWITCHYARD_HTTP_LISTEN: '127.0.0.1:0' },
    });
    processes.push(child);
    return child;
  };
  let nc: NatsConnection | undefined;
  try {
    await Promise.all([
      spawn([options.cliEntry, 'scheduler', '--log-level', 'info'], /scheduler ready/).ready(),
      spawn(
        [options.cliEntry, 'agent', '--backend', 'null', '--node-id', NODE, '--models', MODEL, '--log-level', 'info'],
        /agent host ready/,
      ).ready(),
      spawn([options.forwarderEntry, nats.url], /forwarder ready/).ready(),
    ]);
    nc = await connect({ servers: nats.url, name: 'hop-ratio' });
    for (let i = 0; i < 100; i++) {
      const reply = await nc.request(subjects.adminStatus, encode({ v: 1 }), { timeout: 2000 });
      const status = decode(StatusResponse, reply.data);
      if (status.ok && status.value.ok && status.value.clusters.some((c) => c.readyNodes === 1)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const prober = new Prober(nc);
    const samples: Record<HopMode, number[]> = { direct: [], 'bare-forward': [], scheduler: [] };
    for (let i = 0; i < options.warmup + options.requests; i++) {
      // Rotate the order so that no mode always runs right after another.
      for (let m = 0; m < HOP_MODES.length; m++) {
        const mode = HOP_MODES[(i + m) % HOP_MODES.length]!;
        const us = await prober.probe(mode);
        if (i >= options.warmup) samples[mode].push(us);
      }
    }
    const latencyUs = {
      direct: latencyStats(samples.direct),
      'bare-forward': latencyStats(samples['bare-forward']),
      scheduler: latencyStats(samples.scheduler),
    };
    const ratio = (mode: Exclude<HopMode, 'direct'>): { p50: number; p99: number } => ({
      p50: latencyUs[mode].p50 / latencyUs.direct.p50,
      p99: latencyUs[mode].p99 / latencyUs.direct.p99,
    });
    return {
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      requests: options.requests,
      latencyUs,
      ratio: { 'bare-forward': ratio('bare-forward'), scheduler: ratio('scheduler') },
    };
  } finally {
    await nc?.close().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop(3000)));
    await nats.stop();
  }
}

const ratioText = (x: number): string => `${x.toFixed(2)}×`;
const microseconds = (x: number): string => x.toFixed(0);

/** Renders a result as a table plus the verdict against the 1.5× target. */
export function renderHopRatio(result: HopRatioResult): string {
  const rows = HOP_MODES.map((mode) => {
    const l = result.latencyUs[mode];
    const ratio = mode === 'direct' ? { p50: 1, p99: 1 } : result.ratio[mode];
    return [
      mode,
      microseconds(l.p50),
      microseconds(l.p90),
      microseconds(l.p99),
      ratioText(ratio.p50),
      ratioText(ratio.p99),
    ];
  });
  const s = result.ratio.scheduler;
  const pass = s.p50 <= 1.5 && s.p99 <= 1.5;
  return [
    `Scheduler hop, ${result.requests} sequential requests per mode, interleaved (${result.machine.cpus}× ${result.machine.cpuModel}, Node ${result.machine.node})`,
    formatTable(['path', 'p50 µs', 'p90 µs', 'p99 µs', 'p50 ratio', 'p99 ratio'], rows),
    `target: scheduler ≤ 1.5× direct at p50 and p99 → ${pass ? 'met' : 'NOT met'}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const cliEntry = join(here, '..', '..', '..', 'cli', 'dist', 'main.js');
  if (!existsSync(cliEntry)) throw new Error(`${cliEntry} not found: run npm run build`);
  const requests = Number(process.argv.find((a) => a.startsWith('--requests='))?.split('=')[1] ?? 2000);
  const result = await runHopRatio({
    requests,
    warmup: Math.min(300, requests),
    cliEntry,
    forwarderEntry: join(here, 'forwarder.js'),
  });
  console.log(renderHopRatio(result));
  const outDir = join(here, '..', '..', 'results');
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, `hop-ratio-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
