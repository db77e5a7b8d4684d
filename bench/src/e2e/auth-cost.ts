import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  decode,
  encode,
  identityKey,
  InferReply,
  natsAuthOptions,
  type NatsIdentity,
  StatusResponse,
  subjects,
  writeNatsAuthFiles,
} from '@switchyard/protocol';
import { makeTestCertificates, ManagedProcess, NatsServerProcess } from '@switchyard/test-kit';
import { latencyStats } from '../report/percentiles.js';
import { formatTable } from '../report/table.js';

/**
 * What authentication and TLS cost: two stacks side by side in one run (nats-server, scheduler and
 * agent processes each), one open (no credentials, plain TCP), one locked down (an nkey per
 * process, the generated least-privilege permissions, mutual TLS). The same client requests go to
 * both, interleaved, for the scheduler hop; and both agents send the same heartbeat load while the
 * schedulers' CPU time is read from /proc, for the cost of heartbeat ingest.
 */
const MODEL = 'llama-3.1-8b';
const TENANT = 'bench';
const STACKS = ['open', 'secured'] as const;
type Stack = (typeof STACKS)[number];

export interface AuthCostOptions {
  readonly cliEntry: string;
  readonly requests: number;
  readonly warmup: number;
  /** Nodes the agent hosts and their heartbeat interval: the heartbeat load (nodes × 1000 / interval per s). */
  readonly heartbeatNodes: number;
  readonly heartbeatIntervalMs: number;
  readonly ingestWindowMs: number;
}

export interface AuthCostResult {
  readonly machine: string;
  readonly hopUs: Record<Stack, { p50: number; p99: number }>;
  readonly hopRatio: { p50: number; p99: number };
  /** Scheduler CPU per applied heartbeat. */
  readonly ingestUsPerHeartbeat: Record<Stack, number>;
  readonly ingestRatio: number;
  readonly heartbeatsPerS: number;
}

interface RunningStack {
  readonly server: NatsServerProcess;
  readonly scheduler: ManagedProcess;
  readonly agent: ManagedProcess;
  readonly client: NatsConnection;
}

/** CPU time (user + system) of a process so far, in µs, from /proc/<pid>/stat. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
}

/** The open stack's processes run without credentials. */
function noEnv(): Record<string, string> {
  return {};
}

async function startStack(stack: Stack, options: AuthCostOptions): Promise<RunningStack> {
  const nodeIds = Array.from({ length: options.heartbeatNodes }, (_, i) => `${stack}-${i}`);
  const identities: NatsIdentity[] = [
    { role: 'scheduler', user: 'sched' },
    { role: 'agent', user: 'agent', nodeIds },
    { role: 'client', user: 'bench', tenant: TENANT },
  ];
  let server: NatsServerProcess;
  let envOf: (identity: NatsIdentity) => Record<string, string> = noEnv;
  let clientOptions = {};
  if (stack === 'secured') {
    const certs = makeTestCertificates();
    const files = writeNatsAuthFiles(identities, join(mkdtempSync(join(tmpdir(), 'sy-auth-cost-')), 'auth'), {
      certFile: certs.serverCertFile,
      keyFile: certs.serverKeyFile,
      caFile: certs.caFile,
    });
    server = await NatsServerProcess.start({ jetstream: false, args: ['-c', files.configFile] });
    const tls = { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
    envOf = (identity) => ({
      ...files.env.get(identityKey(identity)),
      SWITCHYARD_NATS_TLS_CA: tls.caFile,
      SWITCHYARD_NATS_TLS_CERT: tls.certFile,
      SWITCHYARD_NATS_TLS_KEY: tls.keyFile,
    });
    const env = files.env.get(identityKey(identities[2]!))!;
    clientOptions = natsAuthOptions({
      nkeySeedFile: env['SWITCHYARD_NATS_NKEY']!,
      inboxPrefix: env['SWITCHYARD_NATS_INBOX_PREFIX']!,
      tls,
    });
  } else {
    server = await NatsServerProcess.start({ jetstream: false });
  }
  const spawn = (args: string[], ready: RegExp, identity: NatsIdentity): ManagedProcess =>
    new ManagedProcess({
      command: process.execPath,
      args: [options.cliEntry, ...args],
      readyPattern: ready,
      env: { ...process.env, SWITCHYARD_NATS_URL: server.url, SWITCHYARD_HTTP_LISTEN: 'off', ...envOf(identity) },
    });
  const scheduler = spawn(['scheduler', '--log-level', 'info'], /scheduler ready/, identities[0]!);
  const agent = spawn(
    [
      'agent',
      '--backend',
      'null',
      '--node-id',
      stack,
      '--nodes',
      String(options.heartbeatNodes),
      '--heartbeat-interval-ms',
      String(options.heartbeatIntervalMs),
      '--models',
      MODEL,
      '--log-level',
      'info',
    ],
    /agent host ready/,
    identities[1]!,
  );
  await Promise.all([scheduler.ready(), agent.ready()]);
  const client = await connect({ servers: server.url, name: `auth-cost-${stack}`, ...clientOptions });
  return { server, scheduler, agent, client };
}

async function readyNodes(client: NatsConnection): Promise<number> {
  try {
    const reply = await client.request(subjects.adminStatus, encode({ v: 1 }), { timeout: 2000 });
    const status = decode(StatusResponse, reply.data);
    return status.ok && status.value.ok ? status.value.clusters.reduce((sum, c) => sum + c.readyNodes, 0) : 0;
  } catch {
    return 0;
  }
}

async function hopUs(client: NatsConnection): Promise<number> {
  const body = encode({ v: 1, model: MODEL, inputTokens: 16, maxOutputTokens: 1 });
  const started = performance.now();
  const reply = await client.request(subjects.infer(TENANT), body, { timeout: 5000 });
  const elapsed = (performance.now() - started) * 1000;
  const decoded = decode(InferReply, reply.data);
  if (!decoded.ok || !decoded.value.ok) throw new Error('a bench request failed');
  return elapsed;
}

export async function runAuthCost(options: AuthCostOptions): Promise<AuthCostResult> {
  const stacks: Partial<Record<Stack, RunningStack>> = {};
  try {
    for (const stack of STACKS) stacks[stack] = await startStack(stack, options);
    const running = stacks as Record<Stack, RunningStack>;
    // The operator subject is the scheduler's: the open stack's client can ask; the secured one's
    // client is a tenant, so wait on its first successful request instead.
    const deadline = Date.now() + 30_000;
    while ((await readyNodes(running.open.client)) < options.heartbeatNodes && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (;;) {
      try {
        await hopUs(running.secured.client);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const samples: Record<Stack, number[]> = { open: [], secured: [] };
    for (let i = 0; i < options.warmup + options.requests; i++) {
      for (let s = 0; s < STACKS.length; s++) {
        const stack = STACKS[(i + s) % STACKS.length]!;
        const us = await hopUs(running[stack].client);
        if (i >= options.warmup) samples[stack].push(us);
      }
    }
    const hop = { open: latencyStats(samples.open), secured: latencyStats(samples.secured) };
    // Heartbeat ingest: both agents heartbeat all along; read each scheduler's CPU over one window.
    const before = STACKS.map((stack) => cpuUs(running[stack].scheduler.pid!));
    await new Promise((resolve) => setTimeout(resolve, options.ingestWindowMs));
    const after = STACKS.map((stack) => cpuUs(running[stack].scheduler.pid!));
    const heartbeats = (options.heartbeatNodes * options.ingestWindowMs) / options.heartbeatIntervalMs;
    const perHeartbeat = (i: number): number => (after[i]! - before[i]!) / heartbeats;
    const ingest = { open: perHeartbeat(0), secured: perHeartbeat(1) };
    return {
      machine: `${cpus().length}× ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}`,
      hopUs: {
        open: { p50: hop.open.p50, p99: hop.open.p99 },
        secured: { p50: hop.secured.p50, p99: hop.secured.p99 },
      },
      hopRatio: { p50: hop.secured.p50 / hop.open.p50, p99: hop.secured.p99 / hop.open.p99 },
      ingestUsPerHeartbeat: ingest,
      ingestRatio: ingest.secured / ingest.open,
      heartbeatsPerS: (options.heartbeatNodes * 1000) / options.heartbeatIntervalMs,
    };
  } finally {
    for (const stack of Object.values(stacks)) {
      await stack.client.close().catch(() => undefined);
      await Promise.all([stack.scheduler.stop(3000), stack.agent.stop(3000)]);
      await stack.server.stop();
    }
  }
}

const us = (x: number): string => x.toFixed(0);

export function renderAuthCost(result: AuthCostResult): string {
  return [
    `Authentication and TLS, one run, two stacks side by side (${result.machine})`,
    formatTable(
      ['stack', 'hop p50 µs', 'hop p99 µs', 'scheduler CPU µs / heartbeat'],
      STACKS.map((stack) => [
        stack === 'open' ? 'open (no auth, TCP)' : 'secured (nkeys, permissions, mutual TLS)',
        us(result.hopUs[stack].p50),
        us(result.hopUs[stack].p99),
        result.ingestUsPerHeartbeat[stack].toFixed(1),
      ]),
    ),
    `secured ÷ open: hop ×${result.hopRatio.p50.toFixed(2)} at p50, ×${result.hopRatio.p99.toFixed(2)} at p99; ` +
      `heartbeat ingest ×${result.ingestRatio.toFixed(2)} CPU per heartbeat (${result.heartbeatsPerS.toFixed(0)} heartbeats/s each)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const cliEntry = fileURLToPath(new URL('../../../cli/dist/main.js', import.meta.url));
  const result = await runAuthCost({
    cliEntry,
    requests: Number(process.env['SWITCHYARD_BENCH_REQUESTS'] ?? 2000),
    warmup: 200,
    heartbeatNodes: 200,
    heartbeatIntervalMs: 100,
    ingestWindowMs: 10_000,
  });
  console.log(renderAuthCost(result));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
