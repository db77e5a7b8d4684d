import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

describe('switchyard demo (the main job)', () => {
  it('runs the fleet, survives the agent it kills, answers every request and prints the summary', async () => {
    const logDir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
    try {
      const { stdout } = await run(
        process.execPath,
        [
          CLI,
          'demo',
          '--duration-s',
          '4',
          '--rate',
          '20',
          '--max-output-tokens',
          '48',
          '--kill-at',
          '0.3',
          '--sessions',
          '4',
          '--log-dir',
          logDir,
        ],
        { timeout: 110_000, env: { ...process.env, SWITCHYARD_NATS_URL: '' } },
      );
      expect(stdout).toMatch(/19\/19 nodes registered/);
      // Every process and client has its own nkey; the server holds each to its subjects.
      expect(stdout).toMatch(/authentication on: an nkey per process and client, least privilege by subject/);
      // And what that buys, shown on the live fleet: refusals by the server, and a tenant past its rate.
      expect(stdout).toMatch(/▸ security: a connection without credentials is refused by nats-server/);
      expect(stdout).toMatch(
        /▸ security: tenant demo-cpu asking for the sessions of tenant demo-agents is refused by the server/,
      );
      expect(stdout).toMatch(
        /▸ quotas: tenant demo-trial \(1 req\/s, burst 2\) sent 4 requests at once: 2 answered, 2 RATE_LIMITED/,
      );
      expect(stdout).toMatch(/✖ SIGKILL agent pid \d+/);
      expect(stdout).toMatch(/Requests: \d+ sent, \d+ ok, \d+ errors, 0 unanswered/);
      expect(stdout).toMatch(/edge-fra-1 .*\nedge-iad-1 .*\nedge-sin-1 /);
      expect(stdout).toMatch(/Failure: agent of 2 h100 nodes in edge-fra-1 SIGKILLed .* marked dead/);
      expect(stdout).toMatch(
        /Sessions: 4 agent sessions, \d+ turns answered .* 0 failed; .* durable logs complete and in order: 4\/4/,
      );
      expect(stdout).toMatch(/Failover: scheduler leader SIGKILLed at .* standby took over/);
      // Kubernetes (the test-kit's stand-in API): Lease election, and a cordoned Node drains its agent's nodes.
      expect(stdout).toMatch(/sched-[ab] holds the coordination\.k8s\.io Lease switchyard\/switchyard-scheduler/);
      expect(stdout).toMatch(/⎈ kubectl cordon \S+\.internal/);
      expect(stdout).toMatch(
        /Kubernetes: Node \S+ cordoned at [\d.]+ s for [\d.]+ s: (\d+)\/\1 of its \w+ nodes drained/,
      );
      // Real tokens from the CPU node's llama.cpp, streamed through the scheduler.
      expect(stdout).toMatch(/CPU node \(llama\.cpp, tiny-llama\): [1-9]\d* streamed requests, [1-9]\d* real tokens/);
      // The operator endpoints: the fleet page's address up front, figures scraped from /metrics at the end.
      expect(stdout).toMatch(/live fleet page: http:\/\/127\.0\.0\.1:\d+\/fleet/);
      expect(stdout).toMatch(
        /Metrics, as Prometheus would scrape them[\s\S]*interactive +\d+ +≤ \d+ µs +(≤ \d+ µs|> largest bucket) +\d+\.\d%/,
      );
      // The capacity planner on the same fleet and load, with its report on disk.
      expect(stdout).toMatch(/▸ capacity plan:[\s\S]*random[\s\S]*switchyard[\s\S]*live \(this run/);
      // A short run's handful of requests may leave no fleet meeting 99 %: then the search says why.
      expect(stdout).toMatch(
        /smallest fleet meeting 99% of every class's SLO for this load \(\d+ requests and \d+ session turns\): \d+× |capacity search: no fleet/,
      );
      const [runDir] = await readdir(logDir);
      expect(await readdir(join(logDir, runDir ?? ''))).toEqual(
        expect.arrayContaining(['sched-a.log', 'sched-b.log', 'agent-edge-fra-1-h100.log', 'plan.html', 'plan.json']),
      );
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
  }, 120_000);
});
