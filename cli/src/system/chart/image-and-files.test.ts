/**
 * What the chart ships and runs: the files its templates embed exist (rules, dashboards), the
 * topology it writes is one the scheduler accepts, the example and CI values describe a coherent
 * fleet, and the Dockerfile builds the image the templates expect (entry point, non-root user,
 * every workspace, no GPU builds of llama.cpp).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_CATALOG } from '@switchyard/fleet-model';
import { parseTopologyConfig } from '@switchyard/protocol';
import { describe, expect, it } from 'vitest';
import {
  chartFilesUnder,
  chartPath,
  chartTemplates,
  createValuesValidator,
  defaultValues,
  EXAMPLE_OVERLAYS,
  REPO_ROOT,
  valueAt,
  valuesStacks,
  valuesWith,
  type YamlMap,
} from './chart-files.js';

const templateText = chartTemplates()
  .map((t) => t.text)
  .join('\n');
/** Each values file of ci/ and examples/ as installed (an overlay over its fleet), named by its `-f` files. */
const valuesFiles = valuesStacks().map((stack) => [stack.join(' + '), stack] as const);
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  workspaces: string[];
  engines: { node: string };
};

describe('files the templates embed', () => {
  const gets = [...templateText.matchAll(/\.Files\.Get "([^"]+)"/g)].map((m) => m[1]!);
  const globs = [...templateText.matchAll(/\.Files\.Glob "([^"]+)"/g)].map((m) => m[1]!);
  const helmignore = readFileSync(chartPath('.helmignore'), 'utf8').split('\n');

  it('are the rules file and the dashboards', () => {
    expect(gets).toEqual(['files/prometheus/switchyard.rules.yaml']);
    expect(globs).toEqual(['files/dashboards/*.json']);
  });

  it.each(gets)('%s exists and is packaged', (path) => {
    expect(existsSync(chartPath(path))).toBe(true);
    expect(helmignore).not.toContain(path);
  });

  it('the dashboard glob ships every dashboard', () => {
    const dashboards = chartFilesUnder('files/dashboards');
    expect(dashboards.length).toBeGreaterThanOrEqual(5);
    for (const path of dashboards) expect(path).toMatch(/^files\/dashboards\/[^/]+\.json$/);
    expect(helmignore.filter((line) => line.startsWith('files/dashboards'))).toEqual([]);
  });

  it('the promtool unit tests stay out of the packaged chart', () => {
    expect(helmignore).toContain('files/prometheus/switchyard.rules.test.yaml');
  });
});

describe('the scheduler’s topology file', () => {
  const validate = createValuesValidator();

  it.each(valuesFiles)('%s: the topology it renders is one the scheduler accepts', (name, stack) => {
    const topology = valueAt(valuesWith(...stack), 'scheduler.topology');
    // The ConfigMap holds `toPrettyJson .Values.scheduler.topology`.
    const parsed = parseTopologyConfig(JSON.stringify(topology), name);
    expect(parsed.clusters.length).toBeGreaterThanOrEqual(2);
  });

  /** Topologies the scheduler refuses: the chart's schema must refuse them before install. */
  const REFUSED: readonly [string, YamlMap][] = [
    ['a safety margin over 0.5', { clusters: [{ name: 'fra', powerBudgetWatts: 1000, safetyMargin: 0.6 }] }],
    ['a zero power budget', { clusters: [{ name: 'fra', powerBudgetWatts: 0 }] }],
    ['an unknown cluster key', { clusters: [{ name: 'fra', powerBudgetWatts: 1000, budget: 5 }] }],
    ['a cluster name with a space', { clusters: [{ name: 'edge fra', powerBudgetWatts: 1000 }] }],
    ['a round trip over a minute', { clusters: [], regions: [{ name: 'eu', latencyMs: { fra: 70_000 } }] }],
    ['incomplete power thresholds', { clusters: [], powerThresholds: { steerAt: 0.8, deferAt: 0.9 } }],
  ];

  it.each(REFUSED)('refused by both the scheduler and the chart: %s', (_what, topology) => {
    const full = { regions: [], unlistedLatencyMs: 250, ...topology };
    expect(() => parseTopologyConfig(JSON.stringify(full), 'topology')).toThrow(/^topology: /);
    const values = defaultValues();
    (values['scheduler'] as YamlMap)['topology'] = full;
    const errors = validate(values);
    expect(errors.some((e) => e.instancePath.startsWith('/scheduler/topology'))).toBe(true);
  });
});

describe('the example and CI fleets are coherent', () => {
  it.each(valuesFiles)('%s: pools name topology clusters and serve catalogue models', (_name, stack) => {
    const values = valuesWith(...stack);
    const clusters = new Set(
      ((valueAt(values, 'scheduler.topology.clusters') ?? []) as YamlMap[]).map((c) => c['name']),
    );
    const catalogue = new Set(MODEL_CATALOG.map((m) => m.name));
    const pools = (valueAt(values, 'agents.pools') ?? []) as YamlMap[];
    expect(pools.length).toBeGreaterThan(0);
    for (const pool of pools) {
      expect(clusters.has(pool['cluster']), `${String(pool['name'])}: cluster ${String(pool['cluster'])}`).toBe(true);
      for (const model of pool['models'] as string[]) expect(catalogue.has(model), `model ${model}`).toBe(true);
    }
  });

  it.each(Object.entries(EXAMPLE_OVERLAYS))(
    '%s tells to install it over %s, as the checks take it',
    (overlay, fleet) => {
      expect(readFileSync(chartPath(overlay), 'utf8')).toContain(
        `-f charts/switchyard/${fleet} -f charts/switchyard/${overlay}`,
      );
    },
  );

  it('the mixed example runs vLLM on 8-GPU H100 nodes (chat) and on Trainium2 in two budgeted clusters', () => {
    const values = valuesWith('examples/mixed-trn2-h100.yaml');
    const pools = valueAt(values, 'agents.pools') as YamlMap[];
    const h100 = pools.find((p) => p['profile'] === 'h100')!;
    expect(h100).toMatchObject({ probe: 'nvidia', chips: 8, backend: 'openai', modelServer: { api: 'chat' } });
    expect(String((h100['modelServer'] as YamlMap)['url'])).toMatch(/:8000$/);
    expect(pools.find((p) => p['profile'] === 'trn2')).toMatchObject({ probe: 'neuron', backend: 'openai' });
    const clusters = valueAt(values, 'scheduler.topology.clusters') as YamlMap[];
    expect(clusters.map((c) => typeof c['powerBudgetWatts'])).toEqual(['number', 'number']);
    expect((valueAt(values, 'scheduler.topology.regions') as unknown[]).length).toBeGreaterThan(0);
  });
});

describe('Dockerfile', () => {
  /** The last `FROM … AS runtime` stage. */
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs the CLI entry point that `npm run build` writes', () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(entrypoint).toEqual(['node', '/app/cli/dist/main.js']);
    const cliPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'cli/package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(`/app/cli/${cliPackage.bin['switchyard']!.replace(/^\.\//, '')}`).toBe(entrypoint[1]);
    expect(existsSync(join(REPO_ROOT, 'cli/dist/main.js')), 'cli/dist/main.js (run npm run build)').toBe(true);
  });

  it('runs as the numeric non-root user the chart runs as', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(runtime);
    expect(user, 'USER uid:gid, numeric (runAsNonRoot needs a number)').not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const helpers = chartTemplates().find((t) => t.path === 'templates/_helpers.tpl')!.text;
    expect(helpers).toContain(`runAsUser: ${user![1]}`);
    expect(helpers).toContain(`runAsGroup: ${user![2]}`);
  });

  it('builds and copies every workspace', () => {
    for (const workspace of rootPackage.workspaces) {
      expect(dockerfile, `COPY lines of ${workspace}`).toContain(`COPY ${workspace}/package.json ${workspace}/\n`);
      expect(dockerfile, `COPY lines of ${workspace}`).toContain(`COPY ${workspace}/ ${workspace}/\n`);
    }
    const gathered = /for workspace in ([a-z -]+); do/.exec(dockerfile)![1]!.split(' ');
    expect([...gathered].sort()).toEqual([...rootPackage.workspaces].sort());
  });

  it('builds on a Node the repository supports, and runs on the same', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile);
    expect(image).not.toBeNull();
    expect(Number(image![1])).toBeGreaterThanOrEqual(Number(/\d+/.exec(rootPackage.engines.node)![0]));
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS (build|runtime)$/gm)).toHaveLength(2);
  });

  it('installs with the lockfile, prunes dev dependencies and every llama.cpp build but the CPU ones', () => {
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/NODE_LLAMA_CPP_SKIP_DOWNLOAD=true/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(
      /find node_modules\/@node-llama-cpp -mindepth 1 -maxdepth 1 \\\n\s+! -name linux-x64 ! -name linux-arm64 -exec rm -rf \{\} \+/,
    );
  });

  it('exposes the scheduler and agent ports and labels the image', () => {
    expect(runtime).toMatch(/^EXPOSE 9464 9465$/m);
    for (const label of ['title', 'description', 'licenses', 'version', 'revision']) {
      expect(runtime).toContain(`org.opencontainers.image.${label}=`);
    }
  });

  it('.dockerignore keeps local builds and dependencies out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });
});
