/**
 * A real Prometheus server scrapes a running fleet (real nats-server, in-process scheduler and
 * agents serving /metrics, one agent process that is SIGKILLed), loads the chart's rule file, and
 * every query of every Grafana dashboard is run through its HTTP API: each must return data. The
 * live scrapes also pass `promtool check metrics`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentHostHandle } from '@switchyard/node-agent';
import { SessionClient, subjects } from '@switchyard/protocol';
import type { SchedulerHandle } from '@switchyard/scheduler';
import { ManagedProcess } from '@switchyard/test-kit';
import { DASHBOARDS_DIR, RULES_FILE_URL } from './catalog.js';
import { panelQueries, substituteGrafanaVariables } from './dashboard-queries.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  h100,
  infer,
  l4,
  type NatsFixture,
  startNats,
  startTestAgents,
  startTestScheduler,
  waitFor,
} from '../harness.js';
import { requireBuiltCli, spawnAgent } from '../processes.js';

const DASHBOARDS = DASHBOARDS_DIR;
const RULES = RULES_FILE_URL;
const SCRAPE_INTERVAL_S = 1;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface QueryResult {
  readonly status: string;
  readonly data?: { readonly result: readonly unknown[] };
  readonly error?: string;
}

describe('Prometheus scraping a running fleet', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;
  let victim: ManagedProcess | undefined;
  let prometheus: ManagedProcess | undefined;
  let prometheusUrl = '';
  let dir = '';

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'sy-prom-'));
    nats = await startNats();
    // One cluster far over a small budget (cap: power limits lowered), one with room.
    scheduler = await startTestScheduler(nats.server.url, {
      httpListen: { host: '127.0.0.1', port: 0 },
      powerIntervalMs: 200,
      topology: {
        clusters: [
          // An idle h100 node draws about 540 W.
          { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 300, safetyMargin: 0.05 },
          { name: 'iad', location: 'Ashburn', powerBudgetWatts: 1_000_000, safetyMargin: 0.05 },
        ],
        regions: [],
      },
    });
    agents = await startTestAgents(
      nats.server.url,
      [h100('p-fra-0', 'fra'), h100('p-iad-0', 'iad'), l4('p-iad-1', 'iad')],
      {
        httpListen: { host: '127.0.0.1', port: 0 },
      },
    );
    victim = spawnAgent(nats.server.url, 'p-victim', { seed: 5, nodes: 1, cluster: 'iad' });
    await waitFor(() => scheduler.fleet.size === 4, 'four nodes to register', 20_000);

    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${SCRAPE_INTERVAL_S}s`,
        `  evaluation_interval: ${SCRAPE_INTERVAL_S}s`,
        'rule_files:',
        `  - ${RULES.pathname}`,
        'scrape_configs:',
        '  - job_name: switchyard-scheduler',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${scheduler.httpPort}']`,
        '  - job_name: switchyard-agent',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${agents.httpPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = new ManagedProcess({
      command: 'prometheus',
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
    });
    await prometheus.waitForLine(/Server is ready to receive web requests/, 20_000);

    // A node that dies (before the load, so that the agents Prometheus scrapes take all the work),
    // then work of every class, a refusal, and a session that moves.
    victim.kill('SIGKILL');
    await waitFor(() => scheduler.fleet.get('p-victim')?.liveness === 'dead', 'the killed agent to be declared dead');
    const client = nats.client;
    await Promise.all([
      ...Array.from({ length: 6 }, () => infer(client, { sloClass: 'interactive' })),
      ...Array.from({ length: 3 }, () => infer(client, { sloClass: 'standard' })),
      ...Array.from({ length: 3 }, () => infer(client, { sloClass: 'batch', deadlineAfterMs: 60_000 })),
      infer(client, { model: 'no-such-model' }),
    ]);
    const sessions = new SessionClient(client, { tenant: 'obs', turnDeadlineMs: 5000 });
    const session = await sessions.open({ model: 'llama-3.1-8b', expectedContextTokens: 4000 });
    await sessions.turn(session.sessionId, { turnKey: 't1', inputTokens: 200, maxOutputTokens: 10 });
    // Draining the session's owner moves it.
    await client.request(subjects.adminNode('drain'), JSON.stringify({ v: 1, nodeId: session.ownerNodeId }), {
      timeout: 5000,
    });
    await waitFor(() => {
      const owner = scheduler.sessionRegistry.get(session.sessionId)?.record.ownerNodeId;
      return owner !== undefined && owner !== null && owner !== session.ownerNodeId;
    }, 'the session to move off the drained node');
    await sessions.turn(session.sessionId, { turnKey: 't2', inputTokens: 100, maxOutputTokens: 10 });
    // A trickle of work while Prometheus scrapes, so that rates are not all zero.
    for (let i = 0; i < 16; i++) {
      await Promise.all([
        infer(client, { sloClass: 'interactive' }),
        new Promise((resolve) => setTimeout(resolve, 500)),
      ]);
    }
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop(2000);
    victim?.kill('SIGKILL');
    await agents?.stop(500);
    await scheduler?.stop();
    await nats?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<QueryResult> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as QueryResult;
  }

  it('scrapes the scheduler and the agents and loads the rules', async () => {
    const up = await query('up');
    expect(up.status).toBe('success');
    expect(up.data?.result.length).toBeGreaterThanOrEqual(2);
    const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: unknown[] }[] };
    };
    expect(rules.data.groups.flatMap((g) => g.rules).length).toBeGreaterThan(5);
  });

  it('passes promtool check metrics on live scrapes of both processes', async () => {
    for (const port of [scheduler.httpPort, agents.httpPort]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('switchyard_');
      let findings = '';
      try {
        execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      } catch (err) {
        const failure = err as { stdout?: string; stderr?: string };
        findings = `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
      }
      // prom-client's default nodejs_active_*_total gauges break a naming lint it does not control.
      expect(findings.split('\n').filter((line) => line.startsWith('switchyard_'))).toEqual([]);
    }
  });

  it('answers every dashboard query with data', async () => {
    const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    const empty: string[] = [];
    const failed: string[] = [];
    for (const file of files) {
      const dashboard: unknown = JSON.parse(readFileSync(new URL(file, DASHBOARDS), 'utf8'));
      for (const { where, expr } of panelQueries(dashboard)) {
        const result = await query(substituteGrafanaVariables(expr));
        if (result.status !== 'success') failed.push(`${file} ${where}: ${result.error ?? result.status}`);
        else if ((result.data?.result.length ?? 0) === 0) empty.push(`${file} ${where}: ${expr}`);
      }
    }
    expect(failed).toEqual([]);
    expect(empty).toEqual([]);
  }, 60_000);
});
