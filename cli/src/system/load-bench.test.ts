import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '@switchyard/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli } from './processes.js';

/** The built load benchmark: it starts nats-server, a scheduler and agents as processes of the built CLI. */
const LOAD_MAIN = fileURLToPath(new URL('../../../bench/dist/e2e/load/main.js', import.meta.url));

/** The parts of the benchmark's JSON result these tests read. */
interface Latency {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}
interface Counts {
  readonly sent: number;
  readonly answered: number;
  readonly errors: number;
  readonly timeouts: number;
}
interface LoadJson {
  readonly planned: number;
  readonly dispatch: { readonly dispatched: number };
  readonly throughput: { readonly offeredPerS: number; readonly sentPerS: number; readonly answeredPerS: number };
  readonly all: Counts;
  readonly stateless: { readonly counts: Counts; readonly latency: Record<string, Latency> };
  readonly sessions: { readonly counts: Counts; readonly latency: Record<string, Latency> };
  readonly byClass: Record<string, { readonly counts: Counts }>;
  readonly power: { readonly meanFleetWatts: number; readonly samples: number };
}

function loadBench(args: readonly string[]): ManagedProcess {
  return new ManagedProcess({
    command: process.execPath,
    args: [LOAD_MAIN, ...args],
    env: { ...process.env, SWITCHYARD_NATS_URL: '' },
  });
}

/** Process ids the benchmark printed when its fleet came up. */
function fleetPids(line: string): number[] {
  return [...line.matchAll(/\(pids? ([\d, ]+)\)/g)].flatMap((m) => (m[1] ?? '').split(', ').map(Number));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('end-to-end load benchmark (real nats-server, scheduler and agents)', () => {
  let workDir = '';

  beforeAll(async () => {
    requireBuiltCli();
    if (!existsSync(LOAD_MAIN)) throw new Error(`${LOAD_MAIN} is missing: build first (npm run build)`);
    workDir = await mkdtemp(join(tmpdir(), 'switchyard-load-bench-'));
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('accounts for every request of a short open-loop run and writes the JSON result', async () => {
    const out = join(workDir, 'load.json');
    const bench = loadBench(
      '--rate 4 --duration-s 5 --sessions 2 --think-ms 300 --agents 2 --max-output-tokens 64 --warmup-s 0 --synthetic --seed 3'
        .split(' ')
        .concat(['--out', out, '--log-dir', join(workDir, 'logs')]),
    );
    const code = await bench.exited;
    const stdout = bench.output();
    if (code !== 0) throw new Error(`load benchmark exited ${code}:\n${stdout}`);
    expect(stdout).toMatch(/▸ fleet up: .*2 agent processes .* hosting 4 h100 nodes/);
    expect(stdout).toMatch(/Requests: \d+ sent = \d+ answered \+ \d+ errors \+ \d+ client timeouts/);
    expect(stdout).toMatch(/scheduler hop +\d+ /);

    const result = JSON.parse(await readFile(out, 'utf8')) as LoadJson;
    // Open loop: the whole precomputed timeline went out.
    expect(result.planned).toBeGreaterThan(5);
    expect(result.dispatch.dispatched).toBe(result.planned);
    expect(result.stateless.counts.sent).toBe(result.planned);
    // Every request and turn ended one way or another, and the parts add up.
    for (const counts of [result.all, result.stateless.counts, result.sessions.counts]) {
      expect(counts.answered + counts.errors + counts.timeouts).toBe(counts.sent);
    }
    const classSent = Object.values(result.byClass).reduce((sum, c) => sum + c.counts.sent, 0);
    expect(classSent).toBe(result.all.sent);
    expect(result.sessions.counts.sent).toBeGreaterThan(0);
    // At 4 req/s on four idle H100 nodes, (nearly) everything is answered, at the rate offered.
    expect(result.all.answered).toBeGreaterThanOrEqual(0.95 * result.all.sent);
    expect(result.throughput.sentPerS).toBe(result.throughput.offeredPerS);
    expect(result.throughput.answeredPerS).toBeGreaterThanOrEqual(0.95 * result.throughput.offeredPerS);
    for (const name of ['e2e', 'schedulerHop', 'clientTtft', 'nodeTtft']) {
      const { count, p50Ms, p99Ms, maxMs } = result.stateless.latency[name]!;
      expect({ name, count, ordered: p50Ms <= p99Ms && p99Ms <= maxMs }).toEqual({
        name,
        count: result.stateless.counts.answered,
        ordered: true,
      });
    }
    // The hop is what lies outside the node: positive, and far below the end-to-end latency.
    expect(result.stateless.latency['schedulerHop']!.p50Ms).toBeGreaterThan(0);
    expect(result.stateless.latency['schedulerHop']!.p50Ms).toBeLessThan(result.stateless.latency['e2e']!.p50Ms);
    expect(result.power.samples).toBeGreaterThan(0);
    expect(result.power.meanFleetWatts).toBeGreaterThan(0);
  }, 60_000);

  it('on SIGINT stops the load and every process it started', async () => {
    const bench = loadBench(
      '--rate 4 --duration-s 120 --sessions 1 --agents 2 --warmup-s 0 --synthetic'
        .split(' ')
        .concat(['--out', join(workDir, 'never.json'), '--log-dir', join(workDir, 'sigint-logs')]),
    );
    try {
      const fleetLine = await bench.waitForLine(/▸ fleet up: /, 30_000);
      const pids = fleetPids(fleetLine);
      // nats-server, the scheduler and two agents.
      expect(pids).toHaveLength(4);
      expect(pids.every(alive)).toBe(true);
      // Let some load run (and requests be in flight) before interrupting it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      bench.kill('SIGINT');
      expect(await bench.exited).toBe(130);
      expect(bench.output()).toMatch(/load run aborted after .* every process stopped/);
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(join(workDir, 'never.json'))).toBe(false);
    } finally {
      bench.kill('SIGKILL');
    }
  }, 60_000);
});
