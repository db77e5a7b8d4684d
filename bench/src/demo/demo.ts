import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsServerProcess } from '@switchyard/test-kit';
import { percentile, sortedCopy } from '../report/percentiles.js';
import { readAzureTrace } from '../workload/azure-trace.js';
import {
  DEMO_FLEET,
  DEMO_TOPOLOGY,
  type FleetProcess,
  type FleetTimings,
  groupNodeIds,
  type NodeGroup,
  startAgentProcesses,
  startSchedulerProcess,
} from './demo-fleet.js';
import { LoadDriver } from './load-driver.js';
import { SessionDriver } from './session-driver.js';
import { readLogOf } from './session-log.js';
import { httpPortOf, renderMetrics, type Sample, scrapeAll } from './demo-metrics.js';
import { type ClusterSample, renderSummary, type DemoSummary } from './demo-summary.js';
import { planDemoFleet } from './demo-plan.js';
import { CpuStreamDriver } from './cpu-stream-driver.js';
import { cutBudget, defaultTracePath, fetchStatus, syntheticSizes } from './demo-support.js';

export { defaultTracePath };
import { DemoKubernetes, groupOwningMostSessions, kubernetesNodeOf } from './demo-kubernetes.js';
import { connectDemoClient, DemoAuth, type DemoClient } from './demo-auth.js';
import { showSecurity, writeDemoQuotas } from './demo-security.js';

export interface DemoOptions {
  /** Path of the `switchyard` CLI entry (the demo starts its processes through it). */
  readonly cliEntry: string;
  /** Use this NATS server instead of starting one. */
  readonly natsUrl?: string;
  readonly durationMs: number;
  readonly ratePerS: number;
  readonly seed: number;
  /** Fraction of the run at which one agent process is SIGKILLed (0: never). */
  readonly killAt: number;
  readonly logDir: string;
  /** Azure trace CSV to sample token sizes from; a built-in distribution if absent. */
  readonly tracePath?: string;
  readonly fleet?: readonly NodeGroup[];
  /** Agent sessions conversing during the run (default 12). */
  readonly sessions?: number;
  /** Output tokens per request are capped at this (default 1024). */
  readonly maxOutputTokens?: number;
  readonly out?: NodeJS.WriteStream;
  /** Fraction of the run at which edge-fra-1's power budget is cut (0: never; default 0.3). */
  readonly budgetCutAt?: number;
  /** Fraction of the run at which the Node whose agent owns the most sessions is cordoned, for a tenth of the run (0: never; default 0.2). */
  readonly cordonAt?: number;
}

/** What the demo's clients expect, per SLO class (the scheduler's slo-aware defaults for interactive). */
export const DEMO_SLO = { interactiveTtftMs: 1000, standardDeadlineMs: 60_000, batchDeadlineMs: 120_000 } as const;

/** What the demo's load asks for (relative weights); the capacity plan at the end uses the same. */
const DEMO_MIX = {
  models: { 'llama-3.1-8b': 3, 'llama-3.3-70b': 1 },
  regions: { 'eu-central': 0.45, 'us-east': 0.35, 'ap-southeast': 0.2 },
  classes: { interactive: 0.6, standard: 0.25, batch: 0.15 },
} as const;
const DEMO_MAX_INPUT_TOKENS = 8192;
const SESSION_MODEL = 'llama-3.3-70b'; // what the demo's agent sessions converse with

const TIMINGS: FleetTimings = { heartbeatIntervalMs: 500, suspectAfterMs: 1500, deadAfterMs: 2500 };

/**
 * The main job: a local NATS server, the scheduler and a simulated multi-cluster fleet as separate
 * processes, an open-loop mixed workload with a live progress line, one agent process killed
 * mid-run, and a summary of what happened.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? process.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  const fleet = options.fleet ?? DEMO_FLEET;
  await mkdir(options.logDir, { recursive: true });
  const started: FleetProcess[] = [];
  let nats: NatsServerProcess | undefined;
  const clients: NatsConnection[] = [];
  let kube: DemoKubernetes | undefined;
  try {
    // Our own server runs with authentication on; an external one decides for itself.
    const auth =
      options.natsUrl === undefined ? DemoAuth.create(fleet, ['sched-a', 'sched-b'], options.logDir) : undefined;
    nats = auth === undefined ? undefined : await auth.startServer(say);
    const url = nats?.url ?? options.natsUrl!;
    const connectClient = (who: DemoClient): Promise<NatsConnection> => connectDemoClient(auth, url, who, clients);
    const isTty: boolean = out.isTTY; // undefined (falsy) when piped
    /** An event line: it clears the live progress line on a terminal. */
    const announce = (line: string): void => void (isTty ? out.write(`\r\x1b[2K${line}\n`) : say(line));
    kube = await DemoKubernetes.start(fleet, options.logDir, say);
    const topologyFile = join(options.logDir, 'topology.json');
    await writeFile(topologyFile, JSON.stringify(DEMO_TOPOLOGY, null, 2));
    const quotasFile = await writeDemoQuotas(options.logDir);
    // Two schedulers: the first takes the leader Lease, the second stands by to take over.
    const startScheduler = (name: string, seed: number): Promise<FleetProcess> =>
      startSchedulerProcess(
        options.cliEntry,
        url,
        options.logDir,
        TIMINGS,
        seed,
        name,
        undefined,
        topologyFile,
        [...kube!.schedulerArgs(), '--tenant-quotas', quotasFile],
        auth?.envOf({ role: 'scheduler', user: name }) ?? {},
      );
    const leader = await startScheduler('sched-a', options.seed);
    const standby = await startScheduler('sched-b', options.seed + 1);
    started.push(leader, standby);
    say(
      `▸ schedulers up: ${kube.leaseHolder() ?? 'sched-a'} holds the coordination.k8s.io Lease switchyard/switchyard-scheduler, the other stands by; ` +
        `nodes suspect after ${TIMINGS.suspectAfterMs} ms, dead after ${TIMINGS.deadAfterMs} ms of silence`,
    );
    const schedulerPorts = [leader, standby].map((p) => httpPortOf(p.process)).filter((p) => p !== undefined);
    if (schedulerPorts.length > 0) {
      say(
        `▸ live fleet page: ${schedulerPorts.map((port) => `http://127.0.0.1:${port}/fleet`).join(' (leader), ')} (standby); ` +
          'Prometheus metrics at /metrics, health at /healthz and /readyz',
      );
    }
    const agents = await startAgentProcesses(
      options.cliEntry,
      url,
      options.logDir,
      fleet,
      TIMINGS,
      options.seed,
      kubernetesNodeOf,
      (group) => auth?.agentEnv(group) ?? {},
    );
    started.push(...agents);
    for (const agent of agents) {
      const g = agent.group;
      if (g !== undefined)
        say(
          `▸ agent pid ${agent.process.pid} on Node ${kubernetesNodeOf(g)}: ${g.nodes} nodes of ${g.chips}× ${g.profile} in ${g.cluster} (${g.models.join(', ')})`,
        );
    }
    const client = await connectClient('operator');
    const totalNodes = fleet.reduce((sum, g) => sum + g.nodes, 0);
    const registerDeadline = Date.now() + 15_000;
    let status = await fetchStatus(client);
    while (
      (status?.clusters.reduce((s, c) => s + c.readyNodes, 0) ?? 0) < totalNodes &&
      Date.now() < registerDeadline
    ) {
      await new Promise((r) => setTimeout(r, 200));
      status = await fetchStatus(client);
    }
    say(`▸ ${status?.totalNodes ?? 0}/${totalNodes} nodes registered; logs in ${options.logDir}`);
    if (auth !== undefined) for (const line of await showSecurity(url, connectClient, SESSION_MODEL)) say(line);
    say(
      `▸ power budgets: ${DEMO_TOPOLOGY.clusters.map((c) => `${c.name} ${(c.powerBudgetWatts / 1000).toFixed(1)} kW`).join(', ')}; ` +
        `clients in ${DEMO_TOPOLOGY.regions.map((r) => r.name).join(', ')}\n`,
    );

    const sizes =
      options.tracePath === undefined ? syntheticSizes(Math.random) : await readAzureTrace(options.tracePath);
    const driver = new LoadDriver(
      await connectClient('load'),
      {
        models: Object.entries(DEMO_MIX.models).map(([name, weight]) => ({ name, weight })),
        sizes: sizes.filter((s) => s.outputTokens > 0),
        maxInputTokens: DEMO_MAX_INPUT_TOKENS,
        maxOutputTokens: options.maxOutputTokens ?? 1024,
        regions: Object.entries(DEMO_MIX.regions).map(([name, weight]) => ({ name, weight })),
        classes: [
          { sloClass: 'interactive', weight: DEMO_MIX.classes.interactive },
          { sloClass: 'standard', weight: DEMO_MIX.classes.standard, deadlineMs: DEMO_SLO.standardDeadlineMs },
          { sloClass: 'batch', weight: DEMO_MIX.classes.batch, deadlineMs: DEMO_SLO.batchDeadlineMs },
        ],
      },
      options.ratePerS,
      options.seed,
      120_000,
      // A request unanswered this long lost both its scheduler and its node: resend it (same key).
      Math.max(5_000, (options.maxOutputTokens ?? 1024) * 40),
    );
    say(
      `▸ load: ${options.ratePerS} req/s open-loop for ${Math.round(options.durationMs / 1000)} s, ` +
        `token sizes from ${options.tracePath === undefined ? 'a synthetic distribution' : 'the Azure LLM conversation trace (CC-BY-4.0)'}`,
    );

    const samples: ClusterSample[] = [];
    const startMs = Date.now();
    const sessionDriver = new SessionDriver(await connectClient('sessions'), SESSION_MODEL, options.seed + 7);
    await sessionDriver.start(options.sessions ?? 12, 800);
    say(
      `▸ ${sessionDriver.openSessions.length} agent sessions conversing (turns go straight to their owner node, logged in JetStream)`,
    );
    // Real tokens: a client streams short prompts to the CPU node's llama.cpp, if the fleet has one.
    const cpuGroup = fleet.find((g) => g.backend === 'llama-cpp');
    const cpuDriver =
      cpuGroup === undefined ? undefined : new CpuStreamDriver(await connectClient('cpu'), cpuGroup.models[0]!);
    if (cpuDriver !== undefined && cpuGroup !== undefined) {
      cpuDriver.start();
      say(
        `▸ a client streams prompts to ${cpuGroup.cluster}'s CPU node: real tokens from ${cpuGroup.models[0]} on llama.cpp`,
      );
    }
    const killTarget = options.killAt > 0 ? agents.find((a) => a.group?.profile === 'h100') : undefined;
    let leaderKilledAtMs: number | undefined;
    let failoverMs: number | undefined;
    if (options.killAt > 0) {
      setTimeout(
        () => {
          leaderKilledAtMs = Date.now();
          leader.process.kill('SIGKILL');
          announce(`✖ SIGKILL scheduler leader sched-a (pid ${leader.process.pid})`);
          void standby.process.waitForLine(/"msg":"elected leader"/, 30_000).then(
            () => {
              failoverMs = Date.now() - (leaderKilledAtMs ?? Date.now());
              announce(`✔ sched-b elected leader through the Lease ${(failoverMs / 1000).toFixed(1)} s later`);
            },
            () => undefined,
          );
        },
        options.durationMs * Math.min(0.95, options.killAt + 0.25),
      );
    }
    const budgetCutAt = options.budgetCutAt ?? 0.3;
    let budgetCut: DemoSummary['budgetCut'];
    if (budgetCutAt > 0) {
      setTimeout(() => {
        void (async () => {
          const cluster = 'edge-fra-1';
          const before = samples.at(-1)?.clusters.find((c) => c.cluster === cluster)?.power;
          const fromWatts = before?.budgetWatts ?? DEMO_TOPOLOGY.clusters[0].powerBudgetWatts;
          // Below what it draws now, but above what its nodes draw at their lowest power limits.
          const toWatts = Math.round(Math.max(3400, 0.7 * (before?.measuredWatts ?? fromWatts)));
          const failed = await cutBudget(client, cluster, toWatts);
          const atMs = Date.now() - startMs;
          if (failed === undefined) budgetCut = { cluster, atMs, fromWatts, toWatts };
          announce(
            failed === undefined
              ? `⚡ ${cluster} power budget cut ${(fromWatts / 1000).toFixed(1)} kW → ${(toWatts / 1000).toFixed(1)} kW (drawing ${((before?.measuredWatts ?? 0) / 1000).toFixed(1)} kW)`
              : `✖ budget cut failed: ${failed}`,
          );
        })();
      }, options.durationMs * budgetCutAt);
    }
    // Kubernetes drains a Node mid-run: the one whose agent owns the most sessions (not the one to be killed).
    const cordon = kube.cordonLater(
      options.durationMs * (options.cordonAt ?? 0.2),
      options.durationMs * 0.1,
      async () => groupOwningMostSessions(fleet, killTarget?.group, await sessionDriver.ownerCounts()),
      { status: () => fetchStatus(client), announce, sinceMs: startMs },
    );
    let killedAtMs: number | undefined, deadDetectedAfterMs: number | undefined;
    let lastPrintMs = 0;
    const monitor = setInterval(() => {
      void (async () => {
        const now = await fetchStatus(client);
        const elapsed = Date.now() - startMs;
        if (now !== undefined) {
          samples.push({ atMs: elapsed, clusters: now.clusters });
          if (killedAtMs !== undefined && deadDetectedAfterMs === undefined && killTarget?.group !== undefined) {
            const ids = new Set(groupNodeIds(killTarget.group));
            if (now.nodes.filter((n) => ids.has(n.nodeId)).every((n) => n.state === 'dead'))
              deadDetectedAfterMs = Date.now() - killedAtMs;
          }
        }
        const ok = driver.outcomes.filter((o) => o.code === 'ok');
        const lat = sortedCopy(ok.slice(-500).map((o) => o.latencyMs));
        const states =
          now?.nodes.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n.state]: (acc[n.state] ?? 0) + 1 }), {}) ??
          {};
        const line =
          `[${(elapsed / 1000).toFixed(1).padStart(5)} s] sent ${driver.sent}  ok ${ok.length}  errors ${driver.outcomes.length - ok.length}  ` +
          `in flight ${driver.inFlight}  p50 ${Math.round(percentile(lat, 50) || 0)} ms  p99 ${Math.round(percentile(lat, 99) || 0)} ms  | nodes ` +
          Object.entries(states)
            .map(([s, n]) => `${n} ${s}`)
            .join(', ');
        if (isTty) out.write(`\r\x1b[2K${line}`);
        else if (Date.now() - lastPrintMs >= 5000) {
          lastPrintMs = Date.now();
          say(line);
        }
      })();
    }, 1000);

    if (killTarget !== undefined) {
      setTimeout(() => {
        killedAtMs = Date.now();
        killTarget.process.kill('SIGKILL');
        announce(
          `✖ SIGKILL agent pid ${killTarget.process.pid} (${killTarget.group?.nodes ?? 0} ${killTarget.group?.profile} nodes in ${killTarget.group?.cluster}) with work in flight`,
        );
      }, options.durationMs * options.killAt);
    }
    await driver.run(options.durationMs);
    await driver.settle();
    await sessionDriver.stop();
    await cpuDriver?.stop();
    clearInterval(monitor);
    // A short run can end before the detector has ruled: wait for it (bounded), so the summary tells.
    if (killedAtMs !== undefined && killTarget?.group !== undefined) {
      const ids = new Set(groupNodeIds(killTarget.group));
      const waitUntil = Date.now() + TIMINGS.deadAfterMs + 3000;
      while (deadDetectedAfterMs === undefined && Date.now() < waitUntil) {
        const now = await fetchStatus(client);
        if (now?.nodes.filter((n) => ids.has(n.nodeId)).every((n) => n.state === 'dead') === true) {
          deadDetectedAfterMs = Date.now() - killedAtMs;
        } else {
          await new Promise((wake) => setTimeout(wake, 100));
        }
      }
    }
    if (isTty) out.write('\n');
    const cordoned = await cordon;
    const finalStatus = await fetchStatus(client);
    const audit = await sessionDriver.audit((sessionId) => readLogOf(client, sessionId));
    const summary: DemoSummary = {
      durationMs: Date.now() - startMs,
      outcomes: driver.outcomes,
      samples,
      counters: finalStatus?.counters ?? {},
      sessions: { audit, turns: sessionDriver.outcomes },
      resent: { noScheduler: driver.retries, refused: driver.refusalsRetried, afterTimeout: driver.resentAfterTimeout },
      ...(budgetCut === undefined ? {} : { budgetCut }),
      ...(cordoned === undefined ? {} : { cordon: cordoned }),
      sloTargets: DEMO_SLO,
      ...(leaderKilledAtMs === undefined
        ? {}
        : { leaderKill: { atMs: leaderKilledAtMs - startMs, ...(failoverMs === undefined ? {} : { failoverMs }) } }),
      ...(killTarget?.group === undefined || killedAtMs === undefined
        ? {}
        : {
            kill: {
              group: killTarget.group,
              atMs: killedAtMs - startMs,
              ...(deadDetectedAfterMs === undefined ? {} : { deadDetectedAfterMs }),
            },
          }),
    };
    say('');
    say(renderSummary(summary));
    if (cpuDriver !== undefined) {
      say(cpuDriver.summary());
      if (cpuDriver.firstText !== undefined)
        say(`  its first answer, streamed: ${JSON.stringify(cpuDriver.firstText.slice(0, 120))}`);
    }
    // The leader's own series (the standby counts no placements); agents that survived.
    let leaderSamples: Sample[] = [];
    for (const port of schedulerPorts) {
      const scraped = await scrapeAll([port]);
      if (scraped.some((sample) => sample.name === 'switchyard_leader' && sample.value === 1)) leaderSamples = scraped;
    }
    const agentPorts = agents.map((a) => httpPortOf(a.process)).filter((port) => port !== undefined);
    say('');
    say(renderMetrics(leaderSamples, await scrapeAll(agentPorts)));
    const plan = await planDemoFleet({
      fleet,
      ratePerS: options.ratePerS,
      durationMs: options.durationMs,
      sizes: sizes.filter((s) => s.outputTokens > 0),
      maxInputTokens: DEMO_MAX_INPUT_TOKENS,
      maxOutputTokens: options.maxOutputTokens ?? 1024,
      models: DEMO_MIX.models,
      classes: DEMO_MIX.classes,
      regions: DEMO_MIX.regions,
      targets: {
        interactiveTtftMs: DEMO_SLO.interactiveTtftMs,
        standardTotalMs: DEMO_SLO.standardDeadlineMs,
        batchTotalMs: DEMO_SLO.batchDeadlineMs,
      },
      seed: options.seed,
      logDir: options.logDir,
      live: driver.outcomes,
      faults: options.killAt > 0,
      ...(budgetCut === undefined ? {} : { budgetCut }),
      sessionTurns: {
        model: SESSION_MODEL,
        turns: sessionDriver.outcomes.map((t) => ({
          atMs: t.sentAtMs - startMs,
          inputTokens: t.inputTokens,
          outputTokens: t.maxOutputTokens,
        })),
      },
    });
    say('');
    say(plan.text);
    return summary;
  } finally {
    await Promise.all(clients.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(started.reverse().map((p) => p.process.stop(8000)));
    await nats?.stop();
    await kube?.close();
  }
}

/** Directory for a demo run's logs. */
export function demoLogDir(base: string): string {
  return join(base, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}
