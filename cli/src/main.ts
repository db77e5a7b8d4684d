#!/usr/bin/env node
import { agentCommand } from './commands/agent.js';
import { batchCommand } from './commands/batch.js';
import { demoCommand } from './commands/demo.js';
import { explainCommand } from './commands/explain.js';
import { latencyCommand } from './commands/latency.js';
import { natsConfigCommand } from './commands/nats-config.js';
import { nodeCommand } from './commands/node.js';
import { planCommand } from './commands/plan.js';
import { powerCommand } from './commands/power.js';
import { schedulerCommand } from './commands/scheduler.js';
import { sessionCommand } from './commands/session.js';
import { statusCommand } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { SwitchyardError } from '@switchyard/protocol';
import { type Command, commandHelp, parseCommandArgs, UsageError } from './command.js';

const COMMANDS: readonly Command[] = [
  demoCommand,
  schedulerCommand,
  agentCommand,
  sessionCommand,
  batchCommand,
  submitCommand,
  statusCommand,
  nodeCommand,
  explainCommand,
  powerCommand,
  latencyCommand,
  planCommand,
  natsConfigCommand,
];

function mainHelp(): string {
  return [
    'switchyard — accelerator-aware inference scheduler',
    '',
    'Usage: switchyard <command> [options]   (switchyard <command> --help for its options)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values['help'] === true) {
      console.log(commandHelp(command));
      return 0;
    }
    return await command.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`switchyard ${command.name}: ${err.message}\n\n${commandHelp(command)}`);
      return 2;
    }
    const code = err instanceof SwitchyardError ? ` ${err.code}` : '';
    console.error(`switchyard ${command.name}:${code} ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
