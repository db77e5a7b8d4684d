import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type NodeGroup, startAgentProcesses } from './demo-fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'demo-fleet-'));
/** A stand-in CLI: the agent of zone `good` starts and stays up (writing its pid); any other fails at once. */
const FAKE_CLI = join(dir, 'fake-cli.mjs');
writeFileSync(
  FAKE_CLI,
  `import { writeFileSync } from 'node:fs';
const zone = process.argv[process.argv.indexOf('--zone') + 1];
if (zone !== 'good') process.exit(3);
writeFileSync(${JSON.stringify(join(dir, 'good.pid'))}, String(process.pid));
console.log(JSON.stringify({ msg: 'agent host ready' }));
setInterval(() => {}, 1000);
`,
);

function group(zone: string): NodeGroup {
  return { cluster: `c-${zone}`, zone, profile: 'h100', nodes: 1, chips: 1, models: ['llama-3.1-8b'] };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startAgentProcesses', () => {
  it('stops the agents that did start when another fails, so no process outlives the error', async () => {
    const timings = { heartbeatIntervalMs: 500, suspectAfterMs: 1_500, deadAfterMs: 3_000 };
    await expect(
      startAgentProcesses(FAKE_CLI, 'nats://127.0.0.1:1', dir, [group('good'), group('bad')], timings, 1),
    ).rejects.toThrow(/exited \(3\) before printing/);
    const pid = Number(readFileSync(join(dir, 'good.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });
});
