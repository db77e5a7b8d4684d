/**
 * The chart against the code it deploys: every SWITCHYARD_* variable the templates set is an option
 * of the process that reads it, ports are the processes' defaults, probe paths are routes they
 * serve, and the schema's enums are the code's own lists (profiles, probes, backends, log levels).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCELERATOR_PROFILES } from '@switchyard/fleet-model';
import { PROBE_CHOICES } from '@switchyard/node-agent';
import { standardOpsRoutes } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import { GLOBAL_OPTIONS, type OptionSpec } from '../../command.js';
import { agentCommand } from '../../commands/agent.js';
import { schedulerCommand } from '../../commands/scheduler.js';
import { statusCommand } from '../../commands/status.js';
import {
  chartFilesUnder,
  chartTemplates,
  defaultValues,
  REPO_ROOT,
  resolveRef,
  schemaAt,
  templateActions,
  valueAt,
  valuesSchema,
  valuesWith,
  type YamlMap,
} from './chart-files.js';

const templates = new Map(chartTemplates().map((t) => [t.path, t.text]));
const template = (path: string): string => templates.get(`templates/${path}`)!;
const schema = valuesSchema();
const poolSchema = resolveRef(schema, schemaAt(schema, 'agents.pools')!['items'] as YamlMap);
const poolProperty = (name: string): YamlMap =>
  resolveRef(schema, (poolSchema['properties'] as YamlMap)[name] as YamlMap);

/** The body of one `define` in _helpers.tpl. */
function helper(name: string): string {
  const helpers = template('_helpers.tpl');
  const start = helpers.indexOf(`{{- define "${name}" -}}`);
  expect(start, `helper ${name}`).toBeGreaterThanOrEqual(0);
  return helpers.slice(start, helpers.indexOf('{{- end -}}\n\n', start));
}

/** SWITCHYARD_* variables a template text sets. */
function envNamesIn(text: string): Set<string> {
  return new Set([...text.matchAll(/- name: (SWITCHYARD_[A-Z0-9_]+)$/gm)].map((m) => m[1]!));
}

/** The environment variables a command reads (its options and the global ones). */
function envOf(options: Readonly<Record<string, OptionSpec>>): Set<string> {
  return new Set(Object.values({ ...GLOBAL_OPTIONS, ...options }).flatMap((o) => (o.env === undefined ? [] : [o.env])));
}

/** The variable's downward-API field in a template, e.g. `spec.nodeName`. */
function fieldRefOf(text: string, name: string): string | undefined {
  const pattern = new RegExp(`- name: ${name}\\n\\s+valueFrom:\\n\\s+fieldRef:\\n\\s+fieldPath: (\\S+)`);
  return pattern.exec(text)?.[1];
}

/** The block headers (`if …`, `else if …`, `range …`) around the first occurrence of `needle`. */
function enclosingBlocks(text: string, needle: string): string[] {
  const at = text.indexOf(needle);
  expect(at, `${needle} in the template`).toBeGreaterThanOrEqual(0);
  const stack: string[] = [];
  for (const { body, offset } of templateActions(text)) {
    if (offset > at) break;
    const keyword = /^([a-z]+)\b/.exec(body)?.[1] ?? '';
    if (['if', 'range', 'with', 'define', 'block'].includes(keyword)) stack.push(body);
    else if (keyword === 'else') stack[stack.length - 1] = body;
    else if (keyword === 'end') stack.pop();
  }
  return stack;
}

/** The profiles the pool schema allows with a probe (its `if probe = X then profile in …` rule). */
function profilesFor(probe: string): string[] {
  const rule = (poolSchema['allOf'] as YamlMap[]).find(
    (r) => JSON.stringify(r['if']) === JSON.stringify({ properties: { probe: { const: probe } } }),
  );
  if (rule === undefined) throw new Error(`the pool schema has no profile rule for the ${probe} probe`);
  const profile = ((rule['then'] as YamlMap)['properties'] as YamlMap)['profile'] as YamlMap;
  return [...(profile['enum'] as string[])].sort();
}

/** Port of a `host:port` default. */
function portOf(listen: string | boolean | undefined): number {
  return Number(/:(\d+)$/.exec(String(listen))?.[1]);
}

/** SWITCHYARD_* names given in extraEnv / pool env by the chart's own values files. */
function extraEnvNames(values: YamlMap, path: string): string[] {
  const list = valueAt(values, path);
  return Array.isArray(list)
    ? list.map((e) => String((e as YamlMap)['name'])).filter((n) => n.startsWith('SWITCHYARD_'))
    : [];
}

const commonEnv = envNamesIn(helper('switchyard.commonEnv'));
const schedulerEnv = new Set([...commonEnv, ...envNamesIn(template('scheduler-deployment.yaml'))]);
const agentEnv = new Set([...commonEnv, ...envNamesIn(template('agent-daemonsets.yaml'))]);
const valuesFiles = [...chartFilesUnder('ci'), ...chartFilesUnder('examples')].map((path) => valuesWith(path));

describe('environment variables', () => {
  it.each([...schedulerEnv].sort())('the scheduler reads %s', (name) => {
    expect(envOf(schedulerCommand.options).has(name), `${name} is no option of switchyard scheduler`).toBe(true);
  });

  it.each([...agentEnv].sort())('the agent reads %s', (name) => {
    expect(envOf(agentCommand.options).has(name), `${name} is no option of switchyard agent`).toBe(true);
  });

  it('the helm test’s `switchyard status` reads the NATS URL, credentials and log level', () => {
    for (const name of commonEnv)
      expect(envOf(statusCommand.options).has(name), `${name} is an option of switchyard status`).toBe(true);
  });

  it('the chart’s values files only add variables the processes read', () => {
    for (const values of valuesFiles) {
      for (const name of extraEnvNames(values, 'scheduler.extraEnv'))
        expect(envOf(schedulerCommand.options).has(name), `${name} is an option of switchyard scheduler`).toBe(true);
      const pools = (valueAt(values, 'agents.pools') ?? []) as YamlMap[];
      for (const [i] of pools.entries()) {
        for (const name of extraEnvNames(values, `agents.pools.${i}.env`))
          expect(envOf(agentCommand.options).has(name), `${name} is an option of switchyard agent`).toBe(true);
      }
    }
  });

  it('NATS credentials come as the variables the processes read, from a Secret or as files', () => {
    expect([...commonEnv].sort()).toEqual([
      'SWITCHYARD_LOG_LEVEL',
      'SWITCHYARD_NATS_CREDS',
      'SWITCHYARD_NATS_INBOX_PREFIX',
      'SWITCHYARD_NATS_NKEY',
      'SWITCHYARD_NATS_PASSWORD_FILE',
      'SWITCHYARD_NATS_TOKEN',
      'SWITCHYARD_NATS_URL',
      'SWITCHYARD_NATS_USER',
    ]);
    expect(helper('switchyard.commonEnv')).toMatch(/SWITCHYARD_NATS_TOKEN\n\s+valueFrom:\n\s+secretKeyRef:/);
  });

  it('the scheduler is configured for a cluster: leader Lease, namespace, Node watch, topology file', () => {
    for (const name of [
      'SWITCHYARD_SCHEDULER_ID',
      'SWITCHYARD_NAMESPACE',
      'SWITCHYARD_LEADER_ELECTION',
      'SWITCHYARD_LEASE_NAME',
      'SWITCHYARD_KUBERNETES',
      'SWITCHYARD_TOPOLOGY',
    ]) {
      expect(schedulerEnv.has(name), `the scheduler gets ${name}`).toBe(true);
    }
    expect(fieldRefOf(template('scheduler-deployment.yaml'), 'SWITCHYARD_SCHEDULER_ID')).toBe('metadata.name');
    expect(fieldRefOf(template('scheduler-deployment.yaml'), 'SWITCHYARD_NAMESPACE')).toBe('metadata.namespace');
  });

  it('the Lease timings go with a Kubernetes Lease, the KV lease length with NATS (the scheduler refuses both at once)', () => {
    const deployment = template('scheduler-deployment.yaml');
    for (const name of [
      'SWITCHYARD_LEASE_NAME',
      'SWITCHYARD_LEASE_DURATION_MS',
      'SWITCHYARD_RENEW_DEADLINE_MS',
      'SWITCHYARD_RETRY_PERIOD_MS',
    ]) {
      expect(enclosingBlocks(deployment, `- name: ${name}\n`), `blocks around ${name}`).toEqual([
        'if eq .Values.scheduler.leaderElection.mode "kubernetes"',
      ]);
    }
    expect(enclosingBlocks(deployment, '- name: SWITCHYARD_LEASE_MS\n')).toEqual([
      'else if eq .Values.scheduler.leaderElection.mode "nats"',
    ]);
  });

  it('an agent is its Kubernetes Node: Node name from spec.nodeName (its node id is derived from it), host IP from status', () => {
    const daemonSet = template('agent-daemonsets.yaml');
    // A Node name may hold dots (EKS: ip-10-0-1-5.us-west-2.compute.internal): the agent makes the node id from it.
    expect(daemonSet).not.toContain('SWITCHYARD_NODE_ID');
    expect(fieldRefOf(daemonSet, 'SWITCHYARD_KUBERNETES_NODE')).toBe('spec.nodeName');
    expect(fieldRefOf(daemonSet, 'HOST_IP')).toBe('status.hostIP');
    expect(daemonSet).toContain('SWITCHYARD_POWER_LIMIT_DRY_RUN');
  });
});

describe('ports and routes', () => {
  const schedulerPort = portOf(schedulerCommand.options['http-listen']!.default);
  const agentPort = portOf(agentCommand.options['http-listen']!.default);
  const standardRoutes = Object.keys(
    standardOpsRoutes({
      metrics: { contentType: 'text/plain', text: () => Promise.resolve('') },
      readiness: () => ({ ready: true, reason: 'test' }),
    }),
  );
  const schedulerSource = readFileSync(join(REPO_ROOT, 'scheduler/src/scheduler.ts'), 'utf8');
  const schedulerRoutes = new Set([
    ...standardRoutes,
    ...[...schedulerSource.matchAll(/'(\/[a-z/]+)': \(\) =>/g)].map((m) => m[1]!),
  ]);

  it('the processes’ defaults are the documented ports', () => {
    expect([schedulerPort, agentPort]).toEqual([9464, 9465]);
  });

  it('containers listen where the processes’ defaults say, and say so explicitly', () => {
    expect(template('scheduler-deployment.yaml')).toContain(`containerPort: ${schedulerPort}\n`);
    expect(template('scheduler-deployment.yaml')).toContain(`value: "0.0.0.0:${schedulerPort}"`);
    expect(template('agent-daemonsets.yaml')).toContain(`containerPort: ${agentPort}\n`);
    expect(template('agent-daemonsets.yaml')).toContain(`value: "0.0.0.0:${agentPort}"`);
    expect(template('agent-service.yaml')).toContain(`port: ${agentPort}\n`);
    expect(valueAt(defaultValues(), 'scheduler.service.port')).toBe(schedulerPort);
  });

  it('the scheduler’s extra routes are found in its source', () => {
    expect([...schedulerRoutes]).toEqual(
      expect.arrayContaining(['/metrics', '/healthz', '/readyz', '/fleet', '/api/fleet']),
    );
  });

  it('the agent serves the standard routes', () => {
    expect(readFileSync(join(REPO_ROOT, 'node-agent/src/agent-host.ts'), 'utf8')).toContain('...standardOpsRoutes(');
  });

  it('probes hit routes the processes serve: liveness /healthz, readiness /readyz', () => {
    for (const [path, routes] of [
      ['scheduler-deployment.yaml', schedulerRoutes],
      ['agent-daemonsets.yaml', new Set(standardRoutes)],
    ] as const) {
      const text = template(path);
      const probed = [...text.matchAll(/(startup|liveness|readiness)Probe:\n\s+httpGet:\n\s+path: (\S+)/g)].map((m) => [
        m[1],
        m[2],
      ]);
      expect(probed, `probes of ${path}`).toEqual([
        ['startup', '/healthz'],
        ['liveness', '/healthz'],
        ['readiness', '/readyz'],
      ]);
      for (const [, route] of probed) expect(routes.has(route!), `${path}: ${route}`).toBe(true);
    }
  });

  it('the scrape path, the helm test’s URL and the paths NOTES.txt sends people to are routes', () => {
    expect(template('servicemonitors.yaml')).toContain('path: /metrics');
    expect(template('tests/test-scheduler.yaml')).toMatch(/-scheduler\.%s\.svc:%d\/readyz/);
    const notesPaths = [...template('NOTES.txt').matchAll(/127\.0\.0\.1:9464(\/[a-z/]+)/g)].map((m) => m[1]!);
    expect(notesPaths.length).toBeGreaterThan(0);
    for (const path of notesPaths) expect(schedulerRoutes.has(path), `route ${path}`).toBe(true);
    expect(template('NOTES.txt')).toContain('/api/fleet');
  });
});

describe('enums are the code’s lists', () => {
  const profiles = Object.values(ACCELERATOR_PROFILES);
  const byVendor = (vendor: string): string[] =>
    profiles
      .filter((p) => p.vendor === vendor)
      .map((p) => p.name)
      .sort();
  it('profiles are fleet-model’s accelerator profiles', () => {
    expect([...(poolProperty('profile')['enum'] as string[])].sort()).toEqual(Object.keys(ACCELERATOR_PROFILES).sort());
  });

  it('the nvidia probe takes NVIDIA profiles, the neuron probe AWS ones', () => {
    expect(profilesFor('nvidia')).toEqual(byVendor('nvidia'));
    expect(profilesFor('neuron')).toEqual(byVendor('aws'));
  });

  it('every Neuron profile has default instance types for its node affinity', () => {
    const instanceTypes = [
      ...template('agent-daemonsets.yaml').matchAll(/"([a-z0-9]+)" \(list ((?:"[a-z0-9.]+" ?)+)\)/g),
    ];
    expect(instanceTypes.map((m) => m[1]!).sort()).toEqual(byVendor('aws'));
    for (const [, profile, list] of instanceTypes) {
      for (const instanceType of list!.match(/"([^"]+)"/g)!)
        expect(instanceType.replaceAll('"', ''), `${profile} instance type`).toMatch(new RegExp(`^${profile}n?\\.`));
    }
  });

  it('probes are the agent’s --probe choices', () => {
    expect([...(poolProperty('probe')['enum'] as string[])].sort()).toEqual([...PROBE_CHOICES].sort());
  });

  it('backends and model server APIs are ones the agent takes', () => {
    const backends = agentCommand.options['backend']!.description;
    for (const backend of poolProperty('backend')['enum'] as string[]) expect(backends).toContain(`${backend} (`);
    const apis = agentCommand.options['model-server-api']!.description;
    const modelServer = poolProperty('modelServer')['properties'] as YamlMap;
    for (const api of (modelServer['api'] as YamlMap)['enum'] as string[]) expect(apis).toContain(`${api} (`);
    expect(template('agent-daemonsets.yaml')).toContain(
      `default "${String(agentCommand.options['model-server-api']!.default)}" $modelServer.api`,
    );
  });

  it('log levels are the ones the processes document', () => {
    const documented = /log level: (.+)$/.exec(GLOBAL_OPTIONS['log-level']!.description)![1]!.split(', ');
    expect(schemaAt(schema, 'logLevel')!['enum']).toEqual(documented);
    expect(valueAt(defaultValues(), 'logLevel')).toBe(GLOBAL_OPTIONS['log-level']!.default);
  });

  it('defaults are the scheduler’s and agent’s own', () => {
    const values = defaultValues();
    const pairs: [string, OptionSpec][] = [
      ['scheduler.suspectAfterMs', schedulerCommand.options['suspect-after-ms']!],
      ['scheduler.deadAfterMs', schedulerCommand.options['dead-after-ms']!],
      ['scheduler.assignTimeoutMs', schedulerCommand.options['assign-timeout-ms']!],
      ['scheduler.defaultDeadlineMs', schedulerCommand.options['default-deadline-ms']!],
      ['scheduler.powerIntervalMs', schedulerCommand.options['power-interval-ms']!],
      ['scheduler.kubernetes', schedulerCommand.options['kubernetes']!],
      ['scheduler.leaderElection.leaseDurationMs', schedulerCommand.options['lease-duration-ms']!],
      ['scheduler.leaderElection.renewDeadlineMs', schedulerCommand.options['renew-deadline-ms']!],
      ['scheduler.leaderElection.retryPeriodMs', schedulerCommand.options['retry-period-ms']!],
      ['agents.heartbeatIntervalMs', agentCommand.options['heartbeat-interval-ms']!],
      ['agents.drainGraceMs', agentCommand.options['drain-grace-ms']!],
    ];
    for (const [path, option] of pairs)
      expect(String(valueAt(values, path)), `default of ${path}`).toBe(option.default);
  });
});
