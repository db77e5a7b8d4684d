import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { defaultTracePath, demoLogDir, runDemo, unanswered } from '@switchyard/bench';
import { type Command, intOption, numberOption } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a local demo fleet: nats-server, scheduler and simulated trn2/h100/l4 agents under a mixed load',
  options: {
    'duration-s': {
      type: 'string',
      env: 'SWITCHYARD_DEMO_DURATION_S',
      default: '40',
      description: 'how long to drive load',
    },
    rate: {
      type: 'string',
      env: 'SWITCHYARD_DEMO_RATE',
      default: '30',
      description: 'requests per second (open loop, Poisson)',
    },
    seed: {
      type: 'string',
      env: 'SWITCHYARD_SEED',
      default: '42',
      description: 'seed of the workload and the simulated accelerators',
    },
    'kill-at': {
      type: 'string',
      default: '0.5',
      description: 'fraction of the run at which one agent process is SIGKILLed (0: never)',
    },
    sessions: { type: 'string', default: '12', description: 'agent sessions conversing during the run' },
    'max-output-tokens': { type: 'string', default: '1024', description: 'cap on output tokens per request' },
    'external-nats': { type: 'boolean', description: 'use --nats-url instead of starting a local nats-server' },
    trace: {
      type: 'string',
      description: 'Azure LLM trace CSV for token sizes (default: ../shared/traces if present)',
    },
    'log-dir': {
      type: 'string',
      env: 'SWITCHYARD_LOG_DIR',
      default: '.switchyard',
      description: 'where process logs go',
    },
  },
  async run(values) {
    const cliEntry = fileURLToPath(import.meta.url).replace(/commands[\\/]demo\.js$/, 'main.js');
    const repoRoot = resolve(dirname(cliEntry), '..', '..');
    const trace = typeof values['trace'] === 'string' ? values['trace'] : defaultTracePath(repoRoot);
    const summary = await runDemo({
      cliEntry,
      durationMs: intOption(values, 'duration-s', 1, 86_400) * 1000,
      ratePerS: numberOption(values, 'rate', 0.1, 100_000),
      seed: intOption(values, 'seed', 0, 2 ** 31),
      killAt: numberOption(values, 'kill-at', 0, 0.95),
      maxOutputTokens: intOption(values, 'max-output-tokens', 1, 100_000),
      sessions: intOption(values, 'sessions', 0, 10_000),
      logDir: demoLogDir(String(values['log-dir'])),
      ...(values['external-nats'] === true && typeof values['nats-url'] === 'string'
        ? { natsUrl: values['nats-url'] }
        : {}),
      ...(trace === undefined ? {} : { tracePath: trace }),
    });
    return unanswered(summary) === 0 ? 0 : 1;
  },
};
