/**
 * RBAC is least privilege: the scheduler may read Nodes and hold its one Lease, nothing more, and
 * the agents may do nothing. The rules are static YAML inside guards, so they are read straight
 * from the template; the Lease verbs are also checked against the calls the scheduler makes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartTemplates, isMap, parseYamlDocuments, REPO_ROOT, type YamlMap } from './chart-files.js';

interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

const templates = chartTemplates();
const RBAC_TEMPLATE = 'templates/scheduler-rbac.yaml';
const rbacText = templates.find((t) => t.path === RBAC_TEMPLATE)!.text;

/**
 * The template's documents with every action replaced by a placeholder and template-only lines
 * dropped, so the static YAML inside the guards parses.
 */
function staticDocuments(text: string): YamlMap[] {
  const lines = text
    .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
    .split('\n')
    .filter((line) => !/^\s*\{\{[^}]*\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{[^}]*\}\}/g, 'TEMPLATED'));
  return parseYamlDocuments(lines.join('\n'), RBAC_TEMPLATE).filter(isMap);
}

const docs = staticDocuments(rbacText);
const byKind = (kind: string): YamlMap[] => docs.filter((doc) => doc['kind'] === kind);
const rulesOf = (kind: string): PolicyRule[] => byKind(kind).flatMap((doc) => doc['rules'] as PolicyRule[]);

/** Verbs of the CoordinationV1Api calls the scheduler's Kubernetes adapter makes on Leases. */
function leaseVerbsCalled(): string[] {
  const dir = join(REPO_ROOT, 'scheduler/src/adapters/kubernetes');
  const source = readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
  const verbOfCall: Record<string, string> = {
    read: 'get',
    create: 'create',
    replace: 'update',
    patch: 'patch',
    delete: 'delete',
    list: 'list',
  };
  const calls = [...source.matchAll(/\.(read|create|replace|patch|delete|list)Namespaced(?:Lease)\b/g)].map(
    (m) => verbOfCall[m[1]!]!,
  );
  return [...new Set(calls)].sort();
}

describe('scheduler RBAC', () => {
  it('holds a ClusterRole, a Role and their bindings, nothing else', () => {
    expect(docs.map((doc) => doc['kind'])).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  });

  it('the ClusterRole reads Nodes: get, list, watch, and nothing else', () => {
    expect(rulesOf('ClusterRole')).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  it('the Role creates Leases and reads and renews its own Lease by name, and nothing else', () => {
    expect(rulesOf('Role')).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['TEMPLATED'],
        verbs: ['get', 'update'],
      },
    ]);
    expect(rbacText).toMatch(/resourceNames: \[\{\{ include "switchyard\.leaseName" \. \| quote \}\}\]/);
  });

  it('grants no wildcard, no write to Nodes, no Secrets or Pods', () => {
    for (const rule of [...rulesOf('ClusterRole'), ...rulesOf('Role')]) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field).not.toContain('*');
      expect(rule.resources.filter((r) => !['nodes', 'leases'].includes(r))).toEqual([]);
    }
  });

  it('the Node verbs cover what the scheduler’s Node watcher does (list, then watch)', () => {
    const watcher = readFileSync(
      join(REPO_ROOT, 'scheduler/src/adapters/kubernetes/kubernetes-node-watcher.ts'),
      'utf8',
    );
    expect(watcher).toContain('.listNode(');
    expect(watcher).toContain("'/api/v1/nodes'");
    expect(rulesOf('ClusterRole')[0]!.verbs).toEqual(expect.arrayContaining(['list', 'watch']));
  });

  it('the Lease verbs are exactly the calls the scheduler makes', () => {
    const granted = [...new Set(rulesOf('Role').flatMap((rule) => rule.verbs))].sort();
    expect(leaseVerbsCalled()).toEqual(granted);
  });

  it('the Lease is namespaced: a Role in the release namespace, not a ClusterRole', () => {
    for (const doc of [...byKind('Role'), ...byKind('RoleBinding')]) {
      expect((doc['metadata'] as YamlMap)['namespace']).toBe('TEMPLATED');
    }
    expect(rulesOf('ClusterRole').flatMap((rule) => rule.resources)).not.toContain('leases');
  });

  it('binds each role to the scheduler’s ServiceAccount only', () => {
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const [binding] = byKind(kind);
      expect(binding!['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'TEMPLATED', namespace: 'TEMPLATED' }]);
      expect((binding!['roleRef'] as YamlMap)['kind']).toBe(kind.replace('Binding', ''));
    }
    expect(rbacText.match(/include "switchyard\.schedulerServiceAccountName"/g)).toHaveLength(2);
  });

  it('each role exists only when its feature is on', () => {
    expect(rbacText).toMatch(/\{\{- if \.Values\.rbac\.create \}\}/);
    expect(rbacText).toMatch(
      /\{\{- if ne \.Values\.scheduler\.kubernetes "off" \}\}\napiVersion: rbac\.authorization\.k8s\.io\/v1\nkind: ClusterRole\n/,
    );
    expect(rbacText).toMatch(
      /\{\{- if eq \.Values\.scheduler\.leaderElection\.mode "kubernetes" \}\}\n---\napiVersion: rbac\.authorization\.k8s\.io\/v1\nkind: Role\n/,
    );
  });
});

describe('no other RBAC', () => {
  it('no other template creates roles or bindings', () => {
    const others = templates.filter(
      (t) => t.path !== RBAC_TEMPLATE && /^kind: (Cluster)?Role(Binding)?$/m.test(t.text),
    );
    expect(others.map((t) => t.path)).toEqual([]);
  });

  it('agents get no API token, and the scheduler one only when it uses the API', () => {
    const daemonSets = templates.find((t) => t.path === 'templates/agent-daemonsets.yaml')!.text;
    expect(daemonSets).toMatch(/^ {6}automountServiceAccountToken: false$/m);
    const agentAccount = templates.find((t) => t.path === 'templates/agent-serviceaccount.yaml')!.text;
    expect(agentAccount).toMatch(/^automountServiceAccountToken: false$/m);
    const deployment = templates.find((t) => t.path === 'templates/scheduler-deployment.yaml')!.text;
    expect(deployment).toContain(
      'automountServiceAccountToken: {{ include "switchyard.schedulerUsesKubernetesApi" . | eq "true" }}',
    );
  });
});
