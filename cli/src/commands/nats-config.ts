import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseNatsIdentities, writeNatsAuthFiles } from '@switchyard/protocol';
import { type Command, stringOption, UsageError } from '../command.js';

export const natsConfigCommand: Command = {
  name: 'nats-config',
  summary: "write nats-server's authorization for Switchyard: an nkey per identity, least privilege by subject",
  usage:
    '\n\nThe identities file (JSON) lists who may connect:\n' +
    '  {"schedulers": ["sched-a"], "agents": [{"user": "agent-1", "nodeIds": ["trn2-0"]}],\n' +
    '   "clients": [{"user": "alice", "tenant": "acme"}], "operators": ["ops"]}\n' +
    'An agent pool whose node ids are not known ahead may give "nodeIds": "any-node" (it can then speak\n' +
    'for any node: list node ids wherever they are known). A user appears once per role, a node id once.\n' +
    'The output directory gets auth.conf (include it from your nats-server config, or pass it with -c),\n' +
    'and per identity <role>-<user>.nk (its nkey seed: a secret) and <role>-<user>.env\n' +
    '(SWITCHYARD_NATS_NKEY and SWITCHYARD_NATS_INBOX_PREFIX for its process).',
  options: {
    identities: { type: 'string', description: 'JSON file of the identities that may connect' },
    out: { type: 'string', default: 'nats-auth', description: 'directory to write into (made private, 0700)' },
    'tls-cert': { type: 'string', description: "the server's TLS certificate (adds a tls block)" },
    'tls-key': { type: 'string', description: "the server's TLS key" },
    'tls-ca': { type: 'string', description: 'CA that client certificates must be signed by (mutual TLS)' },
  },
  run(values) {
    const cert = values['tls-cert'];
    const key = values['tls-key'];
    const ca = values['tls-ca'];
    if ((typeof cert === 'string') !== (typeof key === 'string')) {
      throw new UsageError('--tls-cert and --tls-key go together');
    }
    if (typeof ca === 'string' && typeof cert !== 'string') {
      throw new UsageError(
        '--tls-ca needs --tls-cert and --tls-key (the server presents a certificate to ask for one)',
      );
    }
    const identitiesFile = stringOption(values, 'identities');
    let text: string;
    try {
      text = readFileSync(identitiesFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--identities ${identitiesFile}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
    }
    const identities = parseNatsIdentities(text, identitiesFile);
    const tls =
      typeof cert === 'string' && typeof key === 'string'
        ? { certFile: resolve(cert), keyFile: resolve(key), ...(typeof ca === 'string' ? { caFile: resolve(ca) } : {}) }
        : undefined;
    const out = resolve(stringOption(values, 'out'));
    const files = writeNatsAuthFiles(identities, out, tls);
    console.log(`wrote ${files.configFile} and an nkey seed and env file for each of ${identities.length} identities`);
    console.log(`start the server with: nats-server -c ${files.configFile} (or include it from your configuration)`);
    return Promise.resolve(0);
  },
};
