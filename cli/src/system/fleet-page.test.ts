import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentHostHandle } from '@switchyard/node-agent';
import { encode, subjects } from '@switchyard/protocol';
import type { NodeRecord, SchedulerHandle } from '@switchyard/scheduler';
import type { ManagedProcess } from '@switchyard/test-kit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, l4, type NatsFixture, startNats, startTestAgents, startTestScheduler, waitFor } from './harness.js';
import { requireBuiltCli, spawnAgent } from './processes.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../../test-output/fleet-page.png', import.meta.url));
/** The page polls every second; allow a few polls on this slow machine. */
const PAGE_CHANGE_MS = 6_000;
const VICTIM = 'iad-victim';

const TOPOLOGY = {
  clusters: [
    { name: 'fra', location: 'Frankfurt', powerBudgetWatts: 30_000, safetyMargin: 0.05 },
    { name: 'iad', location: 'Ashburn', powerBudgetWatts: 8_000, safetyMargin: 0.1 },
  ],
  regions: [],
};

/** A CSS selector for a node's row on the page in `state`. */
function row(nodeId: string, state: string): string {
  return `[data-testid="node-row-${nodeId}"][data-state="${state}"]`;
}

/** What the page must show for a node: the scheduler's own record, worst condition first. */
function expectedState(node: NodeRecord): string {
  if (node.liveness !== 'alive') return node.liveness;
  if (node.anomaly !== undefined) return 'anomalous';
  if (node.operatorState === 'draining' || node.reportedState === 'draining') return 'draining';
  return node.operatorState === 'cordoned' ? 'cordoned' : 'ready';
}

/** Reads an attribute or text without Playwright's 30 s auto-wait: the page redraws every second. */
const QUICK = { timeout: 1_000 };

/**
 * What the page shows that the scheduler does not know (empty when they agree): the header, every
 * node's row (state, cluster, profile) and every cluster's card (budget, stage, node count).
 */
async function differences(page: Page, scheduler: SchedulerHandle): Promise<string[]> {
  const found: string[] = [];
  const same = (what: string, shown: string | null, expected: string): void => {
    if (shown !== expected)
      found.push(`${what}: page shows ${JSON.stringify(shown)}, scheduler has ${JSON.stringify(expected)}`);
  };
  try {
    same('scheduler id', await page.getByTestId('scheduler-id').textContent(QUICK), scheduler.schedulerId);
    same('role', await page.getByTestId('leader').textContent(QUICK), scheduler.isLeader ? 'leader' : 'standby');
    same('node count', await page.getByTestId('node-count').textContent(QUICK), String(scheduler.fleet.size));
    same('rows', String(await page.locator('[data-testid^="node-row-"]').count()), String(scheduler.fleet.size));
    for (const node of scheduler.fleet.nodes) {
      const shown = page.getByTestId(`node-row-${node.nodeId}`);
      if ((await shown.count()) === 0) {
        found.push(`no row for ${node.nodeId}`);
        continue;
      }
      same(`${node.nodeId} state`, await shown.getAttribute('data-state', QUICK), expectedState(node));
      same(`${node.nodeId} cluster`, await shown.getByTestId('node-cluster').textContent(QUICK), node.cluster);
      const profile = await shown.getByTestId('node-profile').textContent(QUICK);
      same(`${node.nodeId} profile`, profile?.split(' ')[0] ?? null, node.profileName);
    }
    same(
      'cluster cards',
      String(await page.locator('[data-testid^="cluster-"][data-stage]').count()),
      String(TOPOLOGY.clusters.length),
    );
    for (const cluster of scheduler.fleet.topology.all()) {
      const card = page.getByTestId(`cluster-${cluster.name}`);
      if ((await card.count()) === 0) {
        found.push(`no card for cluster ${cluster.name}`);
        continue;
      }
      same(
        `${cluster.name} budget`,
        await card.getAttribute('data-budget-watts', QUICK),
        String(Math.round(cluster.budgetWatts)),
      );
      same(`${cluster.name} stage`, await card.getByTestId('cluster-stage').textContent(QUICK), cluster.stage);
      const nodesInCluster = scheduler.fleet.nodes.filter((n) => n.cluster === cluster.name).length;
      same(
        `${cluster.name} nodes`,
        await card.getByTestId('cluster-nodes').getAttribute('data-total', QUICK),
        String(nodesInCluster),
      );
    }
  } catch (err) {
    // The page redrew under a read: the next poll reads it again.
    found.push(`page read failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  return found;
}

/**
 * The scheduler's live fleet page in a real browser (Debian's chromium through playwright-core),
 * against a real nats-server, the in-process scheduler, in-process agents and one agent process:
 * the page shows what the scheduler knows, and follows it when an operator cordons a node, when
 * an agent process dies, and when the scheduler goes away.
 */
describe('fleet page (real browser, nats-server, scheduler, agents)', () => {
  let nats: NatsFixture;
  let scheduler: SchedulerHandle;
  let agents: AgentHostHandle;
  let victim: ManagedProcess;
  let browser: Browser;
  let page: Page;
  let base: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    nats = await startNats();
    scheduler = await startTestScheduler(nats.server.url, {
      topology: TOPOLOGY,
      httpListen: { host: '127.0.0.1', port: 0 },
    });
    victim = spawnAgent(nats.server.url, VICTIM, { seed: 3, nodes: 1, cluster: 'iad', profile: 'l4' });
    agents = await startTestAgents(nats.server.url, [
      h100('fra-0', 'fra', 1),
      h100('fra-1', 'fra', 2),
      l4('iad-0', 'iad', 4),
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await waitFor(() => scheduler.fleet.size === 4, 'four nodes to register (one from an agent process)', 20_000);
    if (scheduler.httpPort === undefined) throw new Error('the scheduler serves no HTTP although httpListen was given');
    base = `http://127.0.0.1:${scheduler.httpPort}`;
  }, 40_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    victim?.kill('SIGKILL');
    await agents?.stop(1000);
    await scheduler?.stop();
    await nats?.close();
  });

  it('serves the snapshot as JSON, the page as self-contained HTML, and 404 elsewhere', async () => {
    const api = await fetch(`${base}/api/fleet`);
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
    const snapshot = (await api.json()) as { v: number; schedulerId: string; leader: boolean; nodesTotal: number };
    expect(snapshot).toMatchObject({ v: 1, schedulerId: scheduler.schedulerId, leader: true, nodesTotal: 4 });

    const fleetPage = await fetch(`${base}/fleet`);
    expect(fleetPage.status).toBe(200);
    expect(fleetPage.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await fleetPage.text();
    expect(html).toMatch(/^<!doctype html>/);
    // Nothing from elsewhere, and data never parsed as markup.
    expect(html).not.toMatch(/https?:\/\/|<script[^>]+src=|<link[^>]+href=|@import/i);
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);

    const missing = await fetch(`${base}/fleet/nope`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
  });

  it('shows what the scheduler knows and follows a cordon, a dead agent and a lost scheduler', async () => {
    await page.goto(`${base}/fleet`);
    await expect.poll(() => differences(page, scheduler), { timeout: PAGE_CHANGE_MS, interval: 250 }).toEqual([]);
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('live');
    expect(await page.getByTestId('queue-interactive').count()).toBe(1);

    // An operator cordons a node: the page shows it within a poll or two.
    const reply = await nats.client.request(subjects.adminNode('cordon'), encode({ v: 1, nodeId: 'fra-1' }), {
      timeout: 2000,
    });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({ ok: true });
    expect(scheduler.fleet.get('fra-1')?.operatorState).toBe('cordoned');
    await page.waitForSelector(row('fra-1', 'cordoned'), { timeout: PAGE_CHANGE_MS });
    await expect.poll(() => differences(page, scheduler), { timeout: PAGE_CHANGE_MS, interval: 250 }).toEqual([]);
    expect(await page.getByTestId('cluster-fra').getByTestId('cluster-nodes-cordoned').textContent()).toBe(
      '1 cordoned',
    );

    // An agent process dies without a word: its node goes dead on the page as in the scheduler.
    victim.kill('SIGKILL');
    await waitFor(() => scheduler.fleet.get(VICTIM)?.liveness === 'dead', `${VICTIM} to be declared dead`, 5_000);
    await page.waitForSelector(row(VICTIM, 'dead'), { timeout: PAGE_CHANGE_MS });
    await expect.poll(() => differences(page, scheduler), { timeout: PAGE_CHANGE_MS, interval: 250 }).toEqual([]);
    expect(await page.getByTestId('cluster-iad').getByTestId('cluster-nodes-dead').textContent()).toBe('1 dead');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The scheduler goes away: the page says so instead of showing old figures as live.
    await scheduler.stop();
    await page.waitForSelector('[data-testid="connection"][data-state="disconnected"]', { timeout: PAGE_CHANGE_MS });
    expect(await page.getByTestId(`node-row-${VICTIM}`).getAttribute('data-state')).toBe('dead');
    expect(pageErrors.filter((message) => !message.includes('Failed to load resource'))).toEqual([]);
  }, 30_000);
});
