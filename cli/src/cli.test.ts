import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Command, commandHelp, parseCommandArgs, UsageError } from './command.js';

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

describe('the switchyard binary', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
  });

  it('lists its commands', async () => {
    const { code, stdout } = await switchyard('--help');
    expect(code).toBe(0);
    for (const name of ['demo', 'scheduler', 'agent', 'submit', 'status', 'node'])
      expect(stdout).toContain(`  ${name}`);
  });

  it.each(['demo', 'scheduler', 'agent', 'submit', 'status', 'node'])(
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
    [['agent', '--backend', 'gpu', '--nats-url', 'nats://127.0.0.1:1'], /--backend must be simulated or null/],
    [['node', 'explode', 'n1'], /expected: switchyard node/],
  ])('%j fails with a clear message', async (args, message) => {
    const { code, stderr } = await switchyard(...args);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });
});
