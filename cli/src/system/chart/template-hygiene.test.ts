/**
 * The Go templates are well formed without running helm: balanced delimiters, every block closed,
 * every included helper defined (and every helper used), every manifest document an object with
 * apiVersion and kind, and the standard labels on every object.
 */
import { describe, expect, it } from 'vitest';
import { chartTemplates, manifestTemplates, templateActions } from './chart-files.js';

const templates = chartTemplates();
const manifests = manifestTemplates();

/** Kinds whose pods the chart defines. */
const WORKLOADS = new Set(['Deployment', 'DaemonSet']);
/** Kinds without a namespace. */
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding']);
/** Keywords that open a block closed by `end`. */
const BLOCK_OPENERS = new Set(['if', 'range', 'with', 'define', 'block']);

/** Problems with a template's action structure; empty when it is well formed. */
function structureProblems(text: string): string[] {
  const problems: string[] = [];
  const opens = text.split('{{').length - 1;
  const closes = text.split('}}').length - 1;
  if (opens !== closes) problems.push(`${opens} "{{" but ${closes} "}}"`);
  const stack: string[] = [];
  for (const { body } of templateActions(text)) {
    if (body.includes('{{')) problems.push(`an action opens inside another: {{ ${body.slice(0, 40)}`);
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/')) problems.push(`comment not closed with */: ${body.slice(0, 40)}`);
      continue;
    }
    const keyword = /^([a-z]+)\b/.exec(body)?.[1] ?? '';
    if (BLOCK_OPENERS.has(keyword)) stack.push(keyword);
    else if (keyword === 'else') {
      if (!['if', 'with', 'range'].includes(stack.at(-1) ?? '')) problems.push(`else outside if/with/range`);
    } else if (keyword === 'end') {
      if (stack.pop() === undefined) problems.push('end without an open block');
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

/** Names of the templates `define`d across the chart. */
const defined = new Map<string, string>();
for (const template of templates) {
  for (const m of template.text.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)) defined.set(m[1]!, template.path);
}
/** Names passed to include/template. */
const included = templates.flatMap((template) =>
  [...template.text.matchAll(/\b(?:include|template)\s+"([^"]+)"/g)].map((m) => ({ name: m[1]!, from: template.path })),
);

/**
 * A manifest template's YAML documents as the lines that are not template-only: actions removed,
 * comments and blank lines dropped, split on `---`.
 */
function documentSkeletons(text: string): string[][] {
  const withoutActions = text.replace(/\{\{[\s\S]*?\}\}/g, '');
  const docs: string[][] = [[]];
  for (const line of withoutActions.split('\n')) {
    if (line.trim() === '---') docs.push([]);
    else if (line.trim() !== '' && !line.trim().startsWith('#')) docs.at(-1)!.push(line);
  }
  return docs.filter((doc) => doc.length > 0);
}

/** Each YAML document of a manifest template, raw (with its actions), split on `---`. */
function rawDocuments(text: string): string[] {
  return text.split(/^---\s*$/m).filter((doc) => /^kind: /m.test(doc));
}

describe('template syntax', () => {
  it('finds the helpers, the manifests, NOTES.txt and the helm test', () => {
    const paths = templates.map((t) => t.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'templates/_helpers.tpl',
        'templates/NOTES.txt',
        'templates/tests/test-scheduler.yaml',
        'templates/scheduler-deployment.yaml',
        'templates/agent-daemonsets.yaml',
      ]),
    );
  });

  it.each(templates.map((t) => [t.path, t] as const))('%s: balanced delimiters and blocks', (_path, template) => {
    expect(structureProblems(template.text)).toEqual([]);
  });

  it('the checker itself catches an unclosed if, a stray end and an unbalanced delimiter', () => {
    expect(structureProblems('{{- if .Values.a }}\nx: 1\n')).toEqual(['unclosed: if']);
    expect(structureProblems('x: 1\n{{- end }}\n')).toEqual(['end without an open block']);
    expect(structureProblems('x: {{ .Values.a }\n')[0]).toMatch(/"\{\{" but/);
    expect(structureProblems('{{/* a */}}{{- with .x }}{{ . }}{{- else }}y{{- end }}')).toEqual([]);
  });
});

describe('helpers', () => {
  it('are defined only in underscore files', () => {
    for (const [name, path] of defined) expect(path.split('/').pop(), `${name} is defined in ${path}`).toMatch(/^_/);
  });

  it.each(included.map((i) => [i.name, i.from] as const))('include "%s" (in %s) names a defined template', (name) => {
    expect(defined.has(name), `no {{ define "${name}" }}`).toBe(true);
  });

  it('every defined helper is used', () => {
    const used = new Set(included.map((i) => i.name));
    expect([...defined.keys()].filter((name) => !used.has(name))).toEqual([]);
  });

  it('carry the chart’s prefix', () => {
    for (const name of defined.keys()) expect(name).toMatch(/^switchyard\./);
  });
});

describe('manifest templates', () => {
  it.each(manifests.map((t) => [t.path, t] as const))(
    '%s: every document starts with apiVersion then kind',
    (_path, template) => {
      const docs = documentSkeletons(template.text);
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) {
        expect(doc[0], `document:\n${doc.join('\n')}`).toMatch(/^apiVersion: \S+$/);
        expect(doc[1], `document:\n${doc.join('\n')}`).toMatch(/^kind: [A-Z][A-Za-z]+$/);
      }
    },
  );

  it.each(manifests.map((t) => [t.path, t] as const))(
    '%s: every object carries the standard labels',
    (_path, template) => {
      const objects = rawDocuments(template.text).map((doc) => ({ kind: /^kind: (\S+)/m.exec(doc)![1]!, doc }));
      for (const { kind, doc } of objects) expect(doc, `${kind} labels`).toMatch(/include "switchyard\.labels"/);
      // Workloads label the object and its pod template; their selectors use the selector labels only.
      for (const { kind, doc } of objects.filter((o) => WORKLOADS.has(o.kind))) {
        expect(doc.match(/include "switchyard\.labels"/g)?.length, `${kind} pod template labels`).toBe(2);
        expect(doc).toMatch(/selector:\s*\n\s*matchLabels:\s*\n\s*\{\{- include "switchyard\.selectorLabels"/);
      }
      for (const { kind, doc } of objects.filter((o) => !CLUSTER_SCOPED.has(o.kind))) {
        expect(doc, `${kind} namespace`).toMatch(/^ {2}namespace: /m);
      }
    },
  );

  it('name every object after the release (the fullname helper)', () => {
    for (const template of manifests) {
      for (const doc of rawDocuments(template.text)) {
        const name = /^ {2}name: (.+)$/m.exec(doc)?.[1] ?? '';
        expect(name, `${template.path}: ${name}`).toMatch(
          /switchyard\.fullname|\$fullname|\$poolFullname|ServiceAccountName/,
        );
      }
    }
  });

  it('the helper template renders the labels Kubernetes recommends', () => {
    const helpers = templates.find((t) => t.path === 'templates/_helpers.tpl')!.text;
    for (const label of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
      expect(helpers).toContain(`app.kubernetes.io/${label}:`);
    }
    expect(helpers).toContain('helm.sh/chart:');
  });

  it('the helm test is a test hook that cleans up after itself', () => {
    const test = templates.find((t) => t.path === 'templates/tests/test-scheduler.yaml')!.text;
    expect(test).toMatch(/helm\.sh\/hook: test$/m);
    expect(test).toMatch(/helm\.sh\/hook-delete-policy: before-hook-creation,hook-succeeded$/m);
    expect(test).toMatch(/restartPolicy: Never/);
    expect(test.match(/include "switchyard\.restrictedSecurityContext"/g)?.length).toBe(2);
  });
});
