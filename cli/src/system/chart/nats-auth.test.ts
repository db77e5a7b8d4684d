/**
 * Under natsAuth every process runs as its own least-privilege NATS identity, from the files
 * `switchyard nats-config` writes: the scheduler, each agent pool and the helm test pod mount exactly
 * their own seed from the Secret and set the inbox prefix the server grants that identity, and the
 * in-chart NATS server mounts the Secret's auth.conf and nothing else. Without helm, the templates
 * are read: each workload names its identity once, the helpers' natsAuth branches are rendered for
 * it, and the result is held to what writeNatsAuthFiles writes and inboxPrefixOf says.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import {
  ANY_NODE,
  inboxPrefixOf,
  type NatsIdentity,
  type NatsRole,
  parseNatsIdentities,
  SUBJECT_TOKEN_PATTERN,
  writeNatsAuthFiles,
} from '@switchyard/protocol';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { nodeIdFromName } from '../../commands/agent.js';
import {
  blockText,
  chartPath,
  chartTemplates,
  defaultValues,
  helperBody,
  isMap,
  renderActions,
  resolveRef,
  schemaAt,
  valueAt,
  valuesSchema,
  valuesStacks,
  valuesWith,
  type YamlMap,
} from './chart-files.js';

type WorkloadRole = Exclude<NatsRole, 'client'>;

/** A pod template of the chart that connects to NATS, and whose identity it connects as. */
interface Workload {
  readonly template: string;
  readonly role: WorkloadRole;
  /** The template expression of its user. */
  readonly userExpression: string;
  /** Its users under some values: one, or one per agent pool. */
  readonly users: (values: YamlMap) => string[];
}

const poolsOf = (values: YamlMap): YamlMap[] => (valueAt(values, 'agents.pools') ?? []) as YamlMap[];

const WORKLOADS: readonly Workload[] = [
  {
    template: 'templates/scheduler-deployment.yaml',
    role: 'scheduler',
    userExpression: '.Values.natsAuth.schedulerUser',
    users: (values) => [String(valueAt(values, 'natsAuth.schedulerUser'))],
  },
  {
    template: 'templates/agent-daemonsets.yaml',
    role: 'agent',
    userExpression: '(default $pool.name $pool.natsUser)',
    users: (values) => poolsOf(values).map((pool) => String(pool['natsUser'] ?? pool['name'])),
  },
  {
    template: 'templates/tests/test-scheduler.yaml',
    role: 'operator',
    userExpression: '.Values.natsAuth.operatorUser',
    users: (values) => [String(valueAt(values, 'natsAuth.operatorUser'))],
  },
];

/** Helpers that take a workload's NATS identity. */
const IDENTITY_HELPERS = ['switchyard.commonEnv', 'switchyard.natsSecretVolumeMount', 'switchyard.natsSecretVolume'];

const templates = new Map(chartTemplates().map((t) => [t.path, t.text]));
const NATS_AUTH_BRANCH = 'if .context.Values.natsAuth.enabled';
const SECRET_DIR = helperBody('switchyard.natsSecretDir').trim();
const SECRET_DIR_INCLUDE: readonly [RegExp, string] = [/^include "switchyard\.natsSecretDir" \.context$/, SECRET_DIR];

/** The natsAuth Secret key of a seed and the inbox prefix, by role, as switchyard.natsIdentity's table has them. */
function identityFormats(): Map<string, { seedKey: string; inboxPrefix: string }> {
  const rows = helperBody('switchyard.natsIdentity').matchAll(
    /"(\w+)" \(dict "seedKey" "([^"]+)" "inboxPrefix" "([^"]+)"\)/g,
  );
  return new Map([...rows].map((m) => [m[1]!, { seedKey: m[2]!, inboxPrefix: m[3]! }]));
}

/** `<role>:<user>`, one identity's name across roles. */
function identityName(identity: NatsIdentity): string {
  return `${identity.role}:${identity.user}`;
}

/** What switchyard.natsIdentity gives a role and user: printf of the table's formats. */
function chartIdentity(role: WorkloadRole, user: string): { seedKey: string; inboxPrefix: string } {
  const formats = identityFormats().get(role);
  if (formats === undefined) throw new Error(`switchyard.natsIdentity has no row for ${role}`);
  const printf = (format: string): string => {
    expect(format.split('%s'), `${format}: one %s, no other verb`).toHaveLength(2);
    expect(format.replace('%s', '')).not.toContain('%');
    return format.replace('%s', user);
  };
  return { seedKey: printf(formats.seedKey), inboxPrefix: printf(formats.inboxPrefix) };
}

/** A rendered piece of manifest as Kubernetes reads it (YAML 1.1: `0400` is octal). */
function parseManifestPiece(piece: string): YamlMap[] {
  return parseYaml(piece, { version: '1.1' }) as YamlMap[];
}

/** The natsAuth parts of a workload's pod for one identity: its Secret volume, the mount and the env. */
function renderedNatsAuth(seedKey: string, inboxPrefix: string, secretName: string) {
  const volume = parseManifestPiece(
    renderActions(blockText(helperBody('switchyard.natsSecretVolume'), NATS_AUTH_BRANCH), [
      [/^\$identity\.seedKey$/, seedKey],
      [/^required "[^"]+" \.context\.Values\.natsAuth\.secretName$/, secretName],
    ]),
  );
  const mount = parseManifestPiece(
    renderActions(
      blockText(helperBody('switchyard.natsSecretVolumeMount'), 'if include "switchyard.natsSecretFiles" .context'),
      [SECRET_DIR_INCLUDE],
    ),
  );
  const env = parseManifestPiece(
    renderActions(blockText(helperBody('switchyard.commonEnv'), NATS_AUTH_BRANCH), [
      SECRET_DIR_INCLUDE,
      [/^\$identity\.inboxPrefix \| quote$/, JSON.stringify(inboxPrefix)],
    ]),
  );
  return { volume, mount, env };
}

/** The identities a release's processes connect as; pools whose nodes are not known ahead use any-node. */
function releaseIdentities(values: YamlMap): NatsIdentity[] {
  return WORKLOADS.flatMap((workload) =>
    [...new Set(workload.users(values))].map((user): NatsIdentity =>
      workload.role === 'agent' ? { role: 'agent', user, nodeIds: ANY_NODE } : { role: workload.role, user },
    ),
  );
}

/** Runs `fn` on the files writeNatsAuthFiles (what `switchyard nats-config` runs) writes for `identities`. */
function withNatsConfigOutput<T>(identities: readonly NatsIdentity[], fn: (dir: string, configFile: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-chart-nats-auth-'));
  try {
    return fn(dir, writeNatsAuthFiles(identities, dir).configFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The variables of a `<role>-<user>.env` file. */
function envFile(dir: string, role: string, user: string): Record<string, string> {
  const text = readFileSync(join(dir, `${role}-${user}.env`), 'utf8');
  return Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

const natsAuthStacks = valuesStacks()
  .map((stack) => ({ name: stack.join(' + '), values: valuesWith(...stack) }))
  .filter(({ values }) => valueAt(values, 'natsAuth.enabled') === true);

describe('each workload connects as its own identity', () => {
  it.each(WORKLOADS.map((w) => [w.template, w] as const))(
    '%s names its identity once and gives it to every NATS helper',
    (path, workload) => {
      const text = templates.get(path)!;
      const names = [...text.matchAll(/\$natsIdentity := dict "context" \$ "role" "(\w+)" "user" (.+?) \}\}/g)];
      expect(names.map((m) => [m[1], m[2]])).toEqual([[workload.role, workload.userExpression]]);
      for (const helper of IDENTITY_HELPERS) {
        const calls = [...text.matchAll(new RegExp(`include "${helper.replace('.', '\\.')}" (\\S+)`, 'g'))];
        expect(
          calls.map((m) => m[1]),
          `${helper} in ${path}`,
        ).toEqual(['$natsIdentity']);
      }
    },
  );

  it('an agent pool’s identity is named inside the loop over pools, so each pool has its own', () => {
    const text = templates.get('templates/agent-daemonsets.yaml')!;
    const loop = text.indexOf('{{- range $pool := .Values.agents.pools }}');
    const identity = text.indexOf('$natsIdentity := dict');
    expect(loop).toBeGreaterThanOrEqual(0);
    expect(identity).toBeGreaterThan(loop);
    expect(identity).toBeLessThan(text.indexOf('kind: DaemonSet'));
  });

  it('no other template connects to NATS, and only the helpers make identities', () => {
    const connecting = [...templates]
      .filter(([, text]) => IDENTITY_HELPERS.some((helper) => text.includes(`include "${helper}"`)))
      .map(([path]) => path)
      .filter((path) => path !== 'templates/_helpers.tpl');
    expect(connecting.sort()).toEqual(WORKLOADS.map((w) => w.template).sort());
    const computing = [...templates]
      .filter(([, text]) => text.includes('"switchyard.natsIdentity"'))
      .map(([path]) => path);
    expect(computing).toEqual(['templates/_helpers.tpl']);
  });

  it('the helpers take the identity switchyard.natsIdentity computes from the call’s role and user', () => {
    const body = helperBody('switchyard.natsIdentity');
    expect(body).toMatch(/\{\{- \$formats := get \$identityFormats \.role -\}\}/);
    expect(body).toMatch(
      /\{\{- dict "seedKey" \(printf \$formats\.seedKey \.user\) "inboxPrefix" \(printf \$formats\.inboxPrefix \.user\) \| toJson -\}\}/,
    );
    for (const helper of ['switchyard.commonEnv', 'switchyard.natsSecretVolume']) {
      expect(blockText(helperBody(helper), NATS_AUTH_BRANCH), `natsAuth branch of ${helper}`).toMatch(
        /\$identity := include "switchyard\.natsIdentity" \. \| fromJson/,
      );
    }
    // Under natsAuth the credentials volume is always mounted.
    expect(blockText(helperBody('switchyard.natsSecretFiles'), 'if .Values.natsAuth.enabled').trim()).toBe('true');
  });
});

describe('the chart’s identities are the ones nats-config writes', () => {
  const users = ['scheduler', 'ops', 'h100', 'gpu_fleet-2'];

  it('the table has the roles that run in the cluster (tenants’ clients run outside it)', () => {
    expect([...identityFormats().keys()].sort()).toEqual(['agent', 'operator', 'scheduler']);
  });

  it.each(['scheduler', 'agent', 'operator'] as const)(
    '%s: the seed key is the file nats-config writes, the prefix inboxPrefixOf’s',
    (role) => {
      const identities = users.map((user): NatsIdentity =>
        role === 'agent' ? { role, user, nodeIds: ANY_NODE } : { role, user },
      );
      withNatsConfigOutput(identities, (dir) => {
        for (const identity of identities) {
          const chart = chartIdentity(role, identity.user);
          const written = envFile(dir, role, identity.user);
          expect(basename(written['SWITCHYARD_NATS_NKEY']!)).toBe(chart.seedKey);
          expect(readdirSync(dir)).toContain(chart.seedKey);
          expect(chart.inboxPrefix).toBe(inboxPrefixOf(identity));
          expect(written['SWITCHYARD_NATS_INBOX_PREFIX']).toBe(chart.inboxPrefix);
        }
      });
    },
  );
});

describe.each(natsAuthStacks.map((s) => [s.name, s] as const))('%s', (_name, { values }) => {
  const secretName = String(valueAt(values, 'natsAuth.secretName'));

  it.each(WORKLOADS.map((w) => [w.role, w] as const))(
    '%s pods mount exactly their own seed and set their own inbox prefix',
    (_role, workload) => {
      const users = workload.users(values);
      expect(users.length).toBeGreaterThan(0);
      withNatsConfigOutput(releaseIdentities(values), (dir) => {
        // `kubectl create secret generic --from-file=DIR` makes each file a key of the same name.
        const secretKeys = readdirSync(dir);
        for (const user of users) {
          const chart = chartIdentity(workload.role, user);
          const { volume, mount, env } = renderedNatsAuth(chart.seedKey, chart.inboxPrefix, secretName);
          expect(volume).toEqual([
            {
              name: 'nats-credentials',
              secret: { secretName, defaultMode: 0o400, items: [{ key: chart.seedKey, path: 'nkey' }] },
            },
          ]);
          expect(secretKeys).toContain(chart.seedKey);
          expect(mount).toEqual([{ name: 'nats-credentials', mountPath: SECRET_DIR, readOnly: true }]);
          const written = envFile(dir, workload.role, user);
          expect(env).toEqual([
            { name: 'SWITCHYARD_NATS_NKEY', value: posix.join(SECRET_DIR, 'nkey') },
            { name: 'SWITCHYARD_NATS_INBOX_PREFIX', value: written['SWITCHYARD_NATS_INBOX_PREFIX'] },
          ]);
          expect(basename(written['SWITCHYARD_NATS_NKEY']!)).toBe(chart.seedKey);
        }
      });
    },
  );

  it('the in-chart NATS server mounts the Secret’s auth.conf, nothing else of it, and includes it', () => {
    expect(valueAt(values, 'nats.enabled')).toBe(true);
    const configFileName = withNatsConfigOutput(releaseIdentities(values), (_dir, configFile) => basename(configFile));
    const volumePatches = ((valueAt(values, 'nats.podTemplate.patch') ?? []) as YamlMap[]).filter(
      (op) => op['path'] === '/spec/volumes/-',
    );
    const fromSecret = volumePatches.filter(
      (op) => isMap(op['value']) && valueAt(op['value'], 'secret.secretName') === secretName,
    );
    expect(fromSecret).toHaveLength(1);
    const volume = fromSecret[0]!['value'] as YamlMap;
    expect(fromSecret[0]!['op']).toBe('add');
    const items = valueAt(volume, 'secret.items') as YamlMap[];
    expect(items).toEqual([{ key: configFileName, path: expect.any(String) as string }]);

    const mounts = ((valueAt(values, 'nats.container.patch') ?? []) as YamlMap[]).filter(
      (op) => op['path'] === '/volumeMounts/-' && valueAt(op['value'], 'name') === volume['name'],
    );
    expect(mounts).toHaveLength(1);
    expect(mounts[0]!['op']).toBe('add');
    const mount = mounts[0]!['value'] as YamlMap;
    expect(mount['readOnly']).toBe(true);
    // The NATS chart's config reloader mounts the server's mounts under /etc/ and watches included files.
    expect(String(mount['mountPath'])).toMatch(/^\/etc\/nats-config\/[^/]+$/);

    const merge = (valueAt(values, 'nats.config.merge') ?? {}) as YamlMap;
    const includes = Object.entries(merge).filter(([key]) => key.endsWith('$include'));
    expect(includes).toHaveLength(1);
    // The NATS chart resolves includes against the directory of its nats.conf.
    expect(posix.join('/etc/nats-config', String(includes[0]![1]))).toBe(
      posix.join(String(mount['mountPath']), String(items[0]!['path'])),
    );
    expect(valueAt(values, 'nats.natsBox.enabled'), 'nats-box has no identity').toBe(false);
  });
});

describe('natsAuth values', () => {
  it('are exercised by a ci/ file and by the example over its fleet', () => {
    expect(natsAuthStacks.map((s) => s.name).sort()).toEqual([
      'ci/nats-auth-values.yaml',
      'examples/mixed-trn2-h100.yaml + examples/authorization.yaml',
    ]);
  });

  it('are refused next to externalNats.existingSecret by the templates too (the schema can be skipped)', () => {
    const guard = blockText(
      helperBody('switchyard.natsIdentity'),
      'if .context.Values.externalNats.existingSecret.name',
    );
    expect(guard.trim()).toMatch(/^\{\{- fail "natsAuth and externalNats\.existingSecret are alternatives: /);
  });

  it('users are subject tokens, as nats-config requires, and so is every pool name', () => {
    const schema = valuesSchema();
    expect(resolveRef(schema, schemaAt(schema, 'natsAuth.schedulerUser')!)['pattern']).toBe(
      SUBJECT_TOKEN_PATTERN.source,
    );
    const pool = resolveRef(schema, schemaAt(schema, 'agents.pools')!['items'] as YamlMap)['properties'] as YamlMap;
    expect(resolveRef(schema, pool['natsUser'] as YamlMap)['pattern']).toBe(SUBJECT_TOKEN_PATTERN.source);
    const name = pool['name'] as YamlMap;
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(String(name['pattern']))), (poolName) =>
        // Longer names are refused by maxLength before they could be users.
        poolName.length > Number(name['maxLength']) ? true : SUBJECT_TOKEN_PATTERN.test(poolName),
      ),
    );
    for (const user of WORKLOADS.flatMap((w) => (w.role === 'agent' ? [] : w.users(defaultValues())))) {
      expect(user).toMatch(SUBJECT_TOKEN_PATTERN);
    }
  });
});

describe('README.md', () => {
  const readme = readFileSync(chartPath('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## NATS authorization'), readme.indexOf('## Monitoring'));
  const identitiesJson = /```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

  it('has an identities file nats-config accepts, naming every identity of the example install', () => {
    const documented = parseNatsIdentities(identitiesJson, 'README.md');
    const values = valuesWith('examples/mixed-trn2-h100.yaml', 'examples/authorization.yaml');
    expect(documented.map(identityName)).toEqual(expect.arrayContaining(releaseIdentities(values).map(identityName)));
    expect(documented.some((identity) => identity.role === 'client')).toBe(true);
    const agents = documented.filter((identity) => identity.role === 'agent');
    expect(agents.map((agent) => (agent.nodeIds === ANY_NODE ? ANY_NODE : 'listed')).sort()).toEqual([
      ANY_NODE,
      'listed',
    ]);
  });

  it('writes listed node ids as the agent makes them from Node names', () => {
    const examples = [...section.matchAll(/Node\s+`([^`]+)` is `([^`]+)`/g)];
    expect(examples.length).toBeGreaterThan(0);
    for (const [, nodeName, nodeId] of examples) {
      expect(nodeIdFromName(nodeName!)).toBe(nodeId);
      expect(identitiesJson).toContain(`"${nodeId}"`);
    }
  });

  it('its files make a Secret whose every key kubectl accepts', () => {
    const secretKey = new RegExp(String(resolveRef(valuesSchema(), { $ref: '#/definitions/secretKey' })['pattern']));
    withNatsConfigOutput(parseNatsIdentities(identitiesJson, 'README.md'), (dir) => {
      for (const file of readdirSync(dir)) expect(file).toMatch(secretKey);
    });
  });
});
