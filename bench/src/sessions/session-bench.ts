/**
 * Session benchmarks over real processes (nats-server with JetStream, scheduler, agents with the
 * null backend so model time hides nothing):
 *  1. turn latency: a session turn (owner subscribed to the session subject, durable log append)
 *     versus the same work assigned straight to the agent with no log, interleaved, one run;
 *  2. recovery: SIGKILL the agent owning half of ≥ 100 sessions; per moved session, the time from
 *     the scheduler declaring the node dead to the session answering a turn on its new owner.
 * Usage: node bench/dist/sessions/session-bench.js [--turns=2000] [--sessions=120]
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { decode, encode, InferReply, SessionClient, StatusResponse, subjects } from '@switchyard/protocol';
import { ManagedProcess, NatsServerProcess } from '@switchyard/test-kit';
import { latencyStats } from '../report/percentiles.js';
import { probeAssignment } from '../e2e/probe-assignment.js';
import { formatTable } from '../report/table.js';

const MODEL = 'llama-3.1-8b';

async function readyNodes(nc: NatsConnection): Promise<{ nodeId: string; state: string }[]> {
  const reply = await nc.request(subjects.adminStatus, encode({ v: 1, nodeLimit: 1000 }), { timeout: 2000 });
  const status = decode(StatusResponse, reply.data);
  return status.ok && status.value.ok ? status.value.nodes : [];
}

async function untilNodes(nc: NatsConnection, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const nodes = await readyNodes(nc).catch(() => []);
    if (nodes.filter((n) => n.state === 'ready').length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${count} nodes registered`);
}

/** Arguments of an agent process hosting two null-backend nodes. */
const agentArgs = (prefix: string): string[] => [
  'agent',
  '--backend',
  'null',
  '--node-id',
  prefix,
  '--nodes',
  '2',
  '--models',
  MODEL,
  '--heartbeat-interval-ms',
  '200',
  '--log-level',
  'info',
];

/** Direct path: the same work assigned straight to the owning agent, answered on our inbox. */
async function directTurn(
  nc: NatsConnection,
  nodeId: string,
  inbox: string,
  seq: number,
  waiters: Map<string, () => void>,
): Promise<number> {
  const replyTo = `${inbox}.${seq}`;
  const done = new Promise<void>((resolve) => waiters.set(replyTo, resolve));
  const started = performance.now();
  nc.publish(subjects.assign(nodeId), encode(probeAssignment(MODEL, `direct-${seq}`, replyTo)));
  await done;
  return (performance.now() - started) * 1000;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = join(here, '..', '..', '..', 'cli', 'dist', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: run npm run build`);
  const turns = Number(process.argv.find((a) => a.startsWith('--turns='))?.split('=')[1] ?? 2000);
  const sessionCount = Number(process.argv.find((a) => a.startsWith('--sessions='))?.split('=')[1] ?? 120);
  const nats = await NatsServerProcess.start();
  const processes: ManagedProcess[] = [];
  const spawn = (args: string[], ready: RegExp): ManagedProcess => {
    const child = new ManagedProcess({
      command: process.execPath,
      args: [cli, ...args],
      readyPattern: ready,
      env: { ...process.env, SWITCHYARD_NATS_URL: nats.url, SWITCHYARD_HTTP_LISTEN: '127.0.0.1:0' },
    });
    processes.push(child);
    return child;
  };

  let nc: NatsConnection | undefined;
  try {
    await spawn(
      ['scheduler', '--suspect-after-ms', '600', '--dead-after-ms', '1000', '--log-level', 'info'],
      /scheduler ready/,
    ).ready();
    const victim = spawn(agentArgs('victim'), /agent host ready/);
    await Promise.all([victim.ready(), spawn(agentArgs('survivor'), /agent host ready/).ready()]);
    nc = await connect({ servers: nats.url, name: 'session-bench' });
    await untilNodes(nc, 4);
    const client = new SessionClient(nc, { tenant: 'bench', turnDeadlineMs: 30_000, requestTimeoutMs: 3000 });

    // 1. Turn latency versus straight to the owner.
    const session = await client.open({ model: MODEL });
    const owner = session.ownerNodeId!;
    const inbox = createInbox();
    const waiters = new Map<string, () => void>();
    nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => {
        if (err !== null || !decode(InferReply, msg.data).ok) return;
        waiters.get(msg.subject)?.();
        waiters.delete(msg.subject);
      },
    });
    const turnUs: number[] = [];
    const rawUs: number[] = [];
    const directUs: number[] = [];
    const warmup = Math.min(200, turns);
    const turnSubject = subjects.sessionTurn('bench', session.sessionId, owner);
    for (let i = 0; i < warmup + turns; i++) {
      let started = performance.now();
      await client.turn(session.sessionId, { turnKey: `k${i}`, inputTokens: 16, maxOutputTokens: 4 });
      const turn = (performance.now() - started) * 1000;
      // The same turn as a bare request to the owner's subject: what routing by ownership costs.
      started = performance.now();
      await nc.request(turnSubject, encode({ v: 1, turnKey: `r${i}`, inputTokens: 16, maxOutputTokens: 4 }), {
        timeout: 5000,
      });
      const raw = (performance.now() - started) * 1000;
      const direct = await directTurn(nc, owner, inbox, i, waiters);
      if (i >= warmup) {
        turnUs.push(turn);
        rawUs.push(raw);
        directUs.push(direct);
      }
    }
    const t = latencyStats(turnUs);
    const raw = latencyStats(rawUs);
    const d = latencyStats(directUs);

    // 2. Recovery of ≥ 100 sessions after their owner's process is SIGKILLed.
    const opened = await Promise.all(Array.from({ length: sessionCount }, () => client.open({ model: MODEL })));
    await Promise.all(
      opened.map((s) => client.turn(s.sessionId, { turnKey: 'warm', inputTokens: 16, maxOutputTokens: 4 })),
    );
    const onVictim = opened.filter((s) => s.ownerNodeId?.startsWith('victim'));
    victim.kill('SIGKILL');
    let deadAt = 0;
    while (deadAt === 0) {
      const nodes = await readyNodes(nc).catch(() => []);
      if (nodes.filter((n) => n.nodeId.startsWith('victim')).every((n) => n.state === 'dead'))
        deadAt = performance.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const servingAgainMs = await Promise.all(
      onVictim.map(async (s) => {
        await client.turn(s.sessionId, { turnKey: 'after', inputTokens: 16, maxOutputTokens: 4 });
        return performance.now() - deadAt;
      }),
    );
    const r = latencyStats(servingAgainMs);

    const result = {
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      turns,
      turnLatencyUs: t,
      bareTurnRequestLatencyUs: raw,
      directLatencyUs: d,
      ratio: { p50: t.p50 / d.p50, p99: t.p99 / d.p99 },
      recovery: { sessions: onVictim.length, afterDetectionMs: r },
    };
    console.log(
      `Session turns, ${turns} sequential, interleaved with the same work sent straight to the owner (${result.machine.cpus}× ${result.machine.cpuModel})`,
    );
    console.log(
      formatTable(
        ['path', 'p50 µs', 'p99 µs'],
        [
          ['same work straight to the owner, no log', d.p50.toFixed(0), d.p99.toFixed(0)],
          ['turn as a bare request to the owner subject', raw.p50.toFixed(0), raw.p99.toFixed(0)],
          ['turn through SessionClient', t.p50.toFixed(0), t.p99.toFixed(0)],
          [
            'client turn ÷ bare turn (routing, client)',
            `${(t.p50 / raw.p50).toFixed(2)}×`,
            `${(t.p99 / raw.p99).toFixed(2)}×`,
          ],
          ['client turn ÷ no log (durability)', `${result.ratio.p50.toFixed(2)}×`, `${result.ratio.p99.toFixed(2)}×`],
        ],
      ),
    );
    console.log(
      `target ≤ 1.5× at p50 and p99 → ${result.ratio.p50 <= 1.5 && result.ratio.p99 <= 1.5 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `Recovery: ${onVictim.length} sessions of a SIGKILLed agent serving again p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms after detection (target ≤ 5000 ms)`,
    );
    const out = join(here, '..', '..', 'results', `sessions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${out}`);
  } finally {
    await nc?.close().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop(3000)));
    await nats.stop();
  }
}

await main();
