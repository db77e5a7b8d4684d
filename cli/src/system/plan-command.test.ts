import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PLAN_REPORT_SCHEMA, type PlanReport } from '@switchyard/bench';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseWeights } from '../commands/plan.js';
import { CLI, requireBuiltCli } from './processes.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-plan-'));

async function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'plan', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const FLEET = JSON.stringify({
  clusters: [{ name: 'fra', location: 'Frankfurt', powerBudgetWatts: 30_000 }],
  regions: [],
  nodes: [{ cluster: 'fra', profile: 'h100', count: 2, models: ['llama-3.1-8b'] }],
});

describe('switchyard plan', () => {
  beforeAll(requireBuiltCli);

  it('writes HTML, Markdown and JSON for a synthetic workload, with every policy and a capacity answer', async () => {
    const out = join(dir, 'agents');
    const args = ['--fleet', file('fleet.json', FLEET), '--synthetic', 'agents', '--rate', '4', '--duration-s', '120'];
    args.push('--think-s', '10', '--models', 'llama-3.1-8b=1', '--max-trials', '6', '--out', out);
    const result = await plan(...args);
    expect(result.stderr).toContain('capacity search: done');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/random[\s\S]*switchyard/);
    expect(result.stdout).toMatch(/capacity \(switchyard, every class ≥ 99\.0% within SLO\): \d+× h100 in fra/);
    const report = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as PlanReport;
    expect(report.schema).toBe(PLAN_REPORT_SCHEMA);
    expect(report.policies).toHaveLength(5);
    expect(report.workload.source).toContain('synthetic agents');
    expect(readFileSync(join(out, 'plan.html'), 'utf8')).toContain('data-testid="chart-ttft-cdf"');
    expect(readFileSync(join(out, 'plan.md'), 'utf8')).toContain('| switchyard');
  });

  it('stops at a malformed trace row naming file and line; --skip-bad-rows counts and reports it', async () => {
    const trace = file(
      'trace.jsonl',
      [
        '{"timestamp": 0, "input_tokens": 500, "output_tokens": 50}',
        '{"timestamp": 100, "input_tokens": -3, "output_tokens": 50}',
        '{"timestamp": 200, "input_tokens": 700, "output_tokens": 80}',
      ].join('\n'),
    );
    const fleet = file('fleet2.json', FLEET);
    const stopped = await plan('--fleet', fleet, '--trace', trace, '--capacity-target', 'off', '--out', join(dir, 'x'));
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain(`${trace}:2:`);
    const out = join(dir, 'skipped');
    const args = ['--fleet', fleet, '--trace', trace, '--skip-bad-rows', '--capacity-target', 'off'];
    const skipped = await plan(...args, '--policies', 'switchyard', '--out', out);
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/skipped 1 malformed rows[\s\S]*line 2:/);
    const report = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as PlanReport;
    expect(report.workload).toMatchObject({ requests: 2, skippedRows: 1 });
    expect(report.capacity).toBeUndefined();
  });

  it('names the fleet file and every problem in it, and refuses bad flags with usage', async () => {
    const bad = file('bad-fleet.json', JSON.stringify({ clusters: [], regions: [], nodes: [{ cluster: 'x' }] }));
    const result = await plan('--fleet', bad, '--synthetic', 'poisson', '--out', join(dir, 'y'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(bad);
    expect(result.stderr).toMatch(/profile/);
    const notJson = await plan('--fleet', file('nj.json', '{'), '--synthetic', 'poisson');
    expect(notJson.stderr).toMatch(/not valid JSON/);
    const both = await plan('--trace', 'a.csv', '--synthetic', 'poisson');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exclude each other');
    expect((await plan('--policies', 'magic')).stderr).toContain('unknown magic');
    expect((await plan('--synthetic', 'sine')).stderr).toContain('--synthetic must be one of');
    expect((await plan('--capacity-target', '2')).code).toBe(2);
  });

  it('--calibrate runs the scenario live and simulated, and the report states the error', async () => {
    const out = join(dir, 'calibrated');
    const args = ['--fleet', file('fleet3.json', FLEET), '--synthetic', 'poisson', '--rate', '2', '--duration-s', '30'];
    args.push('--models', 'llama-3.1-8b=1', '--capacity-target', 'off', '--policies', 'switchyard');
    const result = await plan(...args, '--calibrate', '--calibrate-s', '6', '--out', out);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /calibration: simulated vs live TTFT p50 [+-]\d+%, p99 [+-]\d+%, mean power [+-]\d+%/,
    );
    const { calibration } = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as PlanReport;
    expect(calibration?.scenario).toMatch(/live: \d+ answered, 0 errors, 0 timeouts/);
    // The simulator leaves out NATS hops and the scheduler's own time; it must still be near the live run.
    expect(Math.abs(calibration!.relativeError.ttftP50)).toBeLessThan(0.75);
    expect(Math.abs(calibration!.relativeError.meanPower)).toBeLessThan(0.5);
    expect(readFileSync(join(out, 'plan.html'), 'utf8')).toContain('data-testid="calibration"');
  }, 90_000);

  it('parses weights strictly', () => {
    expect(parseWeights('models', 'a=1, b=3')).toEqual({ a: 1, b: 3 });
    expect(() => parseWeights('models', 'a')).toThrow(/name=weight/);
    expect(() => parseWeights('models', 'a=-1')).toThrow(/name=weight/);
    expect(() => parseWeights('models', 'a=0')).toThrow(/positive weight/);
    expect(() => parseWeights('classes', 'gold=1', ['interactive', 'standard', 'batch'])).toThrow(/not one of/);
  });
});
