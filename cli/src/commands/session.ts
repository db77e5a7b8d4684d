import { SessionClient } from '@switchyard/protocol';
import { randomUUID } from 'node:crypto';
import { formatTable } from '@switchyard/bench';
import { type Command, connectNats, intOption, stringOption, UsageError } from '../command.js';

const VERBS = ['open', 'turn', 'close', 'get', 'ls'] as const;

export const sessionCommand: Command = {
  name: 'session',
  summary: 'open, talk to, inspect and close stateful sessions',
  usage: '<open|turn|close|get|ls> [session-id]',
  options: {
    tenant: { type: 'string', env: 'SWITCHYARD_TENANT', default: 'default', description: 'tenant (subject token)' },
    model: { type: 'string', default: 'llama-3.1-8b', description: 'open: model of the session' },
    'expected-context-tokens': {
      type: 'string',
      default: '4096',
      description: 'open: how large the context will grow',
    },
    'input-tokens': { type: 'string', default: '256', description: 'turn: prompt tokens of the turn' },
    'max-output-tokens': { type: 'string', default: '128', description: 'turn: output limit of the turn' },
    'turn-key': { type: 'string', description: 'turn: idempotency key (default: random; reuse it to retry a turn)' },
    limit: { type: 'string', default: '100', description: 'ls: at most this many sessions' },
  },
  async run(values, positionals) {
    const [verb, sessionId] = positionals;
    if (verb === undefined || !(VERBS as readonly string[]).includes(verb))
      throw new UsageError(`expected one of: ${VERBS.join(', ')}`);
    if (verb !== 'open' && verb !== 'ls' && sessionId === undefined)
      throw new UsageError(`session ${verb} needs a session id`);
    const nc = await connectNats(values);
    try {
      const client = new SessionClient(nc, { tenant: stringOption(values, 'tenant') });
      const id = sessionId ?? '';
      switch (verb) {
        case 'open':
          console.log(
            JSON.stringify(
              await client.open({
                model: stringOption(values, 'model'),
                expectedContextTokens: intOption(values, 'expected-context-tokens', 0, 2_000_000),
              }),
              null,
              2,
            ),
          );
          break;
        case 'turn':
          console.log(
            JSON.stringify(
              await client.turn(id, {
                turnKey: typeof values['turn-key'] === 'string' ? values['turn-key'] : randomUUID(),
                inputTokens: intOption(values, 'input-tokens', 1, 2_000_000),
                maxOutputTokens: intOption(values, 'max-output-tokens', 1, 2_000_000),
              }),
              null,
              2,
            ),
          );
          break;
        case 'close':
          console.log(JSON.stringify(await client.close(id), null, 2));
          break;
        case 'get':
          console.log(JSON.stringify(await client.get(id), null, 2));
          break;
        default: {
          const listed = await client.list(intOption(values, 'limit', 1, 500));
          console.log(`${listed.total} sessions\n`);
          console.log(
            formatTable(
              ['session', 'state', 'owner', 'model', 'turns', 'context'],
              listed.sessions.map((s) => [
                s.sessionId,
                s.state,
                s.ownerNodeId ?? '–',
                s.model,
                s.turns,
                s.contextTokens,
              ]),
            ),
          );
        }
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
