import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClusterPower, EXAMPLE_MESSAGES, ExplainReply, ExplainRequest, StatusReply } from '@switchyard/protocol';
import { type Command, commandHelp, parseCommandArgs, UsageError } from './command.js';
import { explainCommand, explainRequestFromOptions, formatExplain } from './commands/explain.js';
import { latencyCommand, latencyReportFromOptions } from './commands/latency.js';
import { budgetUpdateFromOptions, formatClusterPower, powerCommand } from './commands/power.js';
import { formatStatus } from './commands/status.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

async function switchyard(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, SWITCHYARD_NATS_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const probe: Command = {
  name: 'probe',
  summary: 'test command',
  options: {
    count: { type: 'string', env: 'SWITCHYARD_TEST_COUNT', default: '3', description: 'a count' },
    loud: { type: 'boolean', env: 'SWITCHYARD_TEST_LOUD', description: 'be loud' },
  },
  run: () => Promise.resolve(0),
};

describe('option parsing', () => {
  it.each([
    [[], {}, '3', undefined],
    [['--count', '7'], {}, '7', undefined],
    [[], { SWITCHYARD_TEST_COUNT: '9', SWITCHYARD_TEST_LOUD: 'true' }, '9', true],
    [['--count', '1'], { SWITCHYARD_TEST_COUNT: '9' }, '1', undefined],
    [['--loud'], { SWITCHYARD_TEST_LOUD: '0' }, '3', true],
  ])('argv %j with env %j → count %s, loud %s (flags beat environment beat defaults)', (argv, env, count, loud) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const { values } = parseCommandArgs(probe, argv);
      expect(values['count']).toBe(count);
      expect(values['loud']).toBe(loud);
    } finally {
      process.env = saved;
    }
  });

  it('rejects unknown flags with a usage error', () => {
    expect(() => parseCommandArgs(probe, ['--nope'])).toThrow(UsageError);
  });

  it('documents every option with its environment variable and default', () => {
    const help = commandHelp(probe);
    expect(help).toContain('--count <value>');
    expect(help).toContain('env SWITCHYARD_TEST_COUNT; default 3');
    expect(help).toContain('--nats-url');
  });
});

// The ClusterPower, ExplainRequest and ExplainReply examples of docs/protocol.md (section 15).
const CLUSTER_POWER: ClusterPower = ClusterPower.parse(EXAMPLE_MESSAGES.ClusterBudgetReply.power);
const EXPLAIN_REQUEST = ExplainRequest.parse(EXAMPLE_MESSAGES.ExplainRequest);
const EXPLAIN_REPLY = ExplainReply.parse(EXAMPLE_MESSAGES.ExplainReply);

const STATUS = StatusReply.parse({
  v: 1,
  ok: true,
  schedulerId: 'sched-a',
  uptimeMs: 86_400_000,
  totalNodes: 0,
  clusters: [
    {
      cluster: 'edge-fra-1',
      nodes: 1,
      readyNodes: 1,
      powerDrawWatts: 5120.5,
      powerLimitWatts: 8000,
      inFlight: 11,
      queueDepth: 2,
      batchSlots: 64,
      utilization: 0.62,
    },
  ],
  nodes: [],
  counters: {},
});

/** Parses argv as the binary would and builds the command's request body. */
function bodyOf<T>(
  command: Command,
  build: (values: ReturnType<typeof parseCommandArgs>['values'], positionals: string[]) => T,
  argv: string[],
): T {
  const { values, positionals } = parseCommandArgs(command, argv);
  return build(values, positionals);
}

const explainBody = (...argv: string[]) => bodyOf(explainCommand, explainRequestFromOptions, argv);
const budgetBody = (...argv: string[]) => bodyOf(powerCommand, budgetUpdateFromOptions, argv);
const latencyBody = (...argv: string[]) => bodyOf(latencyCommand, latencyReportFromOptions, argv);
const REQUIRED = ['--model', 'llama-3.3-70b', '--input-tokens', '812', '--max-output-tokens', '256'];

describe('switchyard explain: arguments', () => {
  it.each([
    [[], { priority: 'normal', sloClass: 'interactive', candidateLimit: 20 }],
    [
      ['--slo-class', 'batch', '--deadline-ms', '3600000', '--priority', 'low'],
      { sloClass: 'batch', deadlineAfterMs: 3_600_000, priority: 'low' },
    ],
    [['--region', 'eu-central', '--limit', '3'], { region: 'eu-central', candidateLimit: 3 }],
  ])('%j builds a valid ExplainRequest', (extra, expected) => {
    const body = explainBody(...REQUIRED, ...extra);
    const defaults = { priority: 'normal', sloClass: 'interactive', candidateLimit: 20 };
    expect(body).toEqual({
      v: 1,
      model: 'llama-3.3-70b',
      inputTokens: 812,
      maxOutputTokens: 256,
      ...defaults,
      ...expected,
    });
    expect(ExplainRequest.parse(body)).toEqual(body);
  });

  it.each([
    [['--input-tokens', '1', '--max-output-tokens', '1'], /--model is required/],
    [['--model', 'm', '--max-output-tokens', '1'], /--input-tokens is required/],
    [[...REQUIRED, '--input-tokens', 'lots'], /--input-tokens must be a number/],
    [[...REQUIRED, '--input-tokens', '1.5'], /--input-tokens must be an integer/],
    [[...REQUIRED, '--slo-class', 'urgent'], /--slo-class must be one of interactive, standard, batch/],
    [[...REQUIRED, '--priority', 'top'], /--priority must be one of high, normal, low/],
    [[...REQUIRED, '--limit', '501'], /--limit must be a number in 1..500/],
    [[...REQUIRED, '--deadline-ms', '0'], /--deadline-ms must be a number in 1/],
    [[...REQUIRED, '--region', 'eu central'], /region: .*pattern/],
    [['--model', 'llama 70b', '--input-tokens', '1', '--max-output-tokens', '1'], /model: .*pattern/],
    [[...REQUIRED, 'now'], /unexpected argument "now"/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => explainBody(...argv)).toThrow(UsageError);
    expect(() => explainBody(...argv)).toThrow(message);
  });
});

describe('switchyard explain: output', () => {
  const lines = formatExplain(EXPLAIN_REQUEST, EXPLAIN_REPLY).split('\n');
  const row = (nodeId: string) => lines.find((line) => line.startsWith(nodeId))?.split(/\s{2,}/);

  it('describes the request and the pipeline', () => {
    expect(lines[0]).toBe(
      'llama-3.3-70b: 812 prompt + ≤ 256 output tokens, interactive, normal priority, from eu-central',
    );
    expect(lines[1]).toBe(
      'pipeline: filters schedulable → model-supported → queue-room → memory-fit → power-budget; ' +
        'scorers slo-aware ×1, batch-headroom ×0.1; picker max-score',
    );
  });

  it('prints one row per candidate with its verdict, scores and predictions', () => {
    expect(lines.find((line) => line.startsWith('node'))?.split(/\s{2,}/)).toEqual([
      'node',
      'cluster',
      'profile',
      'verdict',
      'score',
      'TTFT ms',
      'total ms',
      'energy J',
      'ΔW',
      'cold',
    ]);
    expect(row('trn2-fra1-0007')).toEqual([
      'trn2-fra1-0007',
      'edge-fra-1',
      'trn2',
      'chosen (slo-aware 0.86, batch-headroom 0.67)',
      '0.840',
      '70',
      '5,068',
      '912',
      '38.5',
      'no',
    ]);
    expect(row('l4-fra1-0002')).toEqual([
      'l4-fra1-0002',
      'edge-fra-1',
      'l4',
      'rejected by model-supported',
      '–',
      '–',
      '–',
      '–',
      '–',
    ]);
    expect(row('h100-iad1-0001')?.[3]).toBe('rejected by power-budget');
  });

  it('names the chosen node and shows cluster power', () => {
    expect(lines).toContain('3 of 3 nodes shown');
    expect(lines).toContain('chosen: trn2-fra1-0007 (score 0.840)');
    expect(row('edge-fra-1')).toEqual(['edge-fra-1', 'steer', '2,911,800', '2,905,300', '3,500,000', '5%', '83%']);
  });

  it('says why nothing fits when the decision is a rejection', () => {
    const rejected = ExplainReply.parse({
      ...EXPLAIN_REPLY,
      decision: {
        ok: false,
        code: 'NO_CAPACITY',
        message: 'no node can take llama-3.3-70b now: 3 rejected by queue-room',
      },
      candidates: [],
      power: [],
    });
    const text = formatExplain(EXPLAIN_REQUEST, rejected);
    expect(text).toContain('0 of 3 nodes shown');
    expect(text).toContain('no node: NO_CAPACITY: no node can take llama-3.3-70b now: 3 rejected by queue-room');
    expect(text).not.toContain('stage');
  });
});

describe('switchyard power budget: arguments', () => {
  it.each([
    [['--cluster', 'edge-fra-1', '--watts', '3500000'], { cluster: 'edge-fra-1', budgetWatts: 3_500_000 }],
    [
      ['--cluster', 'edge-fra-1', '--watts', '2.5e6', '--safety-margin', '0.1'],
      { cluster: 'edge-fra-1', budgetWatts: 2_500_000, safetyMargin: 0.1 },
    ],
  ])('budget %j builds a ClusterBudgetUpdate', (argv, expected) => {
    expect(budgetBody('budget', ...argv)).toEqual({ v: 1, ...expected });
  });

  it.each([
    [[], /expected: switchyard power budget/],
    [['limit', '--cluster', 'c', '--watts', '1'], /expected: switchyard power budget/],
    [['budget', 'extra', '--cluster', 'c', '--watts', '1'], /expected: switchyard power budget/],
    [['budget', '--watts', '1000'], /--cluster is required/],
    [['budget', '--cluster', 'c'], /--watts is required/],
    [['budget', '--cluster', 'c', '--watts', '0'], /--watts must be a number in 1\.\.1000000000000/],
    [['budget', '--cluster', 'c', '--watts', '5MW'], /--watts must be a number/],
    [
      ['budget', '--cluster', 'c', '--watts', '1', '--safety-margin', '0.6'],
      /--safety-margin must be a number in 0\.\.0\.5/,
    ],
    [['budget', '--cluster', 'edge fra', '--watts', '1'], /cluster: .*pattern/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => budgetBody(...argv)).toThrow(UsageError);
    expect(() => budgetBody(...argv)).toThrow(message);
  });

  it('prints the cluster power table', () => {
    const text = formatClusterPower([CLUSTER_POWER]);
    expect(text.split('\n')[0]?.split(/\s{2,}/)).toEqual([
      'cluster',
      'stage',
      'committed W',
      'measured W',
      'budget W',
      'margin',
      'used',
    ]);
    expect(text.split('\n')[2]).toMatch(/^edge-fra-1\s+steer\s+2,911,800\s+2,905,300\s+3,500,000\s+5%\s+83%$/);
  });
});

describe('switchyard latency report: arguments', () => {
  it('builds a one-sample LatencyReport', () => {
    expect(latencyBody('report', '--region', 'eu-central', '--cluster', 'edge-fra-1', '--rtt-ms', '3.8')).toEqual({
      v: 1,
      samples: [{ region: 'eu-central', cluster: 'edge-fra-1', rttMs: 3.8 }],
    });
  });

  it.each([
    [['--region', 'r', '--cluster', 'c', '--rtt-ms', '1'], /expected: switchyard latency report/],
    [['report', '--cluster', 'c', '--rtt-ms', '1'], /--region is required/],
    [['report', '--region', 'r', '--rtt-ms', '1'], /--cluster is required/],
    [['report', '--region', 'r', '--cluster', 'c'], /--rtt-ms is required/],
    [['report', '--region', 'r', '--cluster', 'c', '--rtt-ms', '60001'], /--rtt-ms must be a number in 0\.\.60000/],
    [['report', '--region', 'r', '--cluster', 'c', '--rtt-ms=-1'], /--rtt-ms must be a number in 0/],
    [['report', '--region', 'r', '--cluster', 'c.*', '--rtt-ms', '1'], /samples\.0\.cluster: .*pattern/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => latencyBody(...argv)).toThrow(UsageError);
    expect(() => latencyBody(...argv)).toThrow(message);
  });
});

const clusterHeader = (text: string) => text.split('\n').find((line) => line.startsWith('cluster'));

describe('switchyard status: output', () => {
  const status = STATUS;

  it('leaves the budget columns out when no cluster reports power', () => {
    expect(clusterHeader(formatStatus(status))).not.toContain('stage');
  });

  it('shows committed power against the budget, and the stage, for clusters that report it', () => {
    const first = status.clusters[0];
    if (first === undefined) throw new Error('example StatusReply has a cluster');
    const withPower = StatusReply.parse({
      ...status,
      clusters: [
        { ...first, power: CLUSTER_POWER },
        { ...first, cluster: 'lab-1', power: undefined },
      ],
    });
    const text = formatStatus(withPower);
    expect(clusterHeader(text)).toMatch(/committed \/ budget W\s+stage$/);
    expect(text).toMatch(/^edge-fra-1\s.*2,911,800 \/ 3,500,000\s+steer$/m);
    expect(text).toMatch(/^lab-1\s.*–\s+–$/m);
  });
});

describe('the switchyard binary', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
  });

  it('lists its commands', async () => {
    const { code, stdout } = await switchyard('--help');
    expect(code).toBe(0);
    for (const name of ['demo', 'scheduler', 'agent', 'submit', 'status', 'node', 'explain', 'power', 'latency'])
      expect(stdout).toContain(`  ${name}`);
  });

  it.each(['demo', 'scheduler', 'agent', 'submit', 'status', 'node', 'explain', 'power', 'latency'])(
    '%s --help exits 0 and shows options',
    async (name) => {
      const { code, stdout } = await switchyard(name, '--help');
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: switchyard ${name}`);
      expect(stdout).toContain('--log-level');
    },
  );

  it.each([
    [['launch'], /unknown command "launch"/],
    [['agent', '--profile'], /--profile/],
    [['agent', '--nodes', 'many'], /--nodes must be a number/],
    [['agent', '--profile', 'tpu9', '--nats-url', 'nats://127.0.0.1:1'], /unknown accelerator profile "tpu9"/],
    [
      ['agent', '--backend', 'gpu', '--nats-url', 'nats://127.0.0.1:1'],
      /--backend must be simulated, openai, llama-cpp or null, got gpu/,
    ],
    [['node', 'explode', 'n1'], /expected: switchyard node/],
    [
      ['scheduler', '--leader-election', 'kubernetes', '--kubeconfig', '/nonexistent/kubeconfig'],
      /kubeconfig \/nonexistent\/kubeconfig does not exist/,
    ],
    [
      ['agent', '--kubernetes-node', 'Not_A_Node', '--nats-url', 'nats://127.0.0.1:1'],
      /kubernetes node "Not_A_Node" is not a Kubernetes object name/,
    ],
    [
      ['status', '--nats-creds', '/nonexistent/user.creds'],
      /cannot read the creds file \/nonexistent\/user.creds \(ENOENT\)/,
    ],
    [['status', '--nats-user', 'alice'], /a user needs a password/],
  ])('%j fails with a clear message', async (args, message) => {
    const { code, stderr } = await switchyard(...args);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });

  it.each([
    [['explain', '--model', 'llama-3.1-8b', '--input-tokens', '10'], /--max-output-tokens is required/],
    [['explain', ...REQUIRED, '--slo-class', 'urgent'], /--slo-class must be one of/],
    [['power', 'budget', '--cluster', 'edge-fra-1', '--watts=-5'], /--watts must be a number in 1/],
    [['latency', 'report', '--region', 'eu', '--cluster', 'c'], /--rtt-ms is required/],
    [['latency', 'report', '--region', 'eu', '--cluster', 'c', '--rtt-ms', '5', '--rtt', '4'], /--rtt/],
    [['scheduler', '--kubernetes', 'maybe'], /--kubernetes must be one of auto, on, off, got maybe/],
    [['scheduler', '--leader-election', 'raft'], /--leader-election must be one of none, nats, kubernetes/],
    [['scheduler', '--leader-election', 'nats'], /--leader-election nats needs --lease-ms/],
    [
      ['scheduler', '--kubernetes', 'off', '--leader-election', 'kubernetes', '--renew-deadline-ms', '20000'],
      /leaseDurationMs \(15000\) must be greater than renewDeadlineMs \(20000\)/,
    ],
    [['status', '--nats-password', 'a', '--nats-password-file', '/tmp/x'], /not both/],
  ])('%j is refused before connecting, with exit code 2 and the usage', async (args, message) => {
    const { code, stderr } = await switchyard(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain(`Usage: switchyard ${args[0]}`);
  });
});
