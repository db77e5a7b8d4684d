import { describe, expect, it } from 'vitest';
import {
  ADMIN_VERBS,
  SUBJECT_PREFIX,
  SUBJECT_TOKEN_PATTERN,
  isSubjectToken,
  nodeIdFromAgentSubject,
  subjectToken,
  subjects,
  tenantFromSubject,
} from './subjects.js';
import { SubjectToken } from './messages/common.js';

type TokenBuilder = (token: string) => string;

const nodeBuilders: [string, TokenBuilder, string][] = [
  ['register', subjects.register, 'sy.v1.agent.trn2-fra1-0007.register'],
  ['heartbeat', subjects.heartbeat, 'sy.v1.agent.trn2-fra1-0007.heartbeat'],
  ['result', subjects.result, 'sy.v1.agent.trn2-fra1-0007.result'],
  ['deregister', subjects.deregister, 'sy.v1.agent.trn2-fra1-0007.deregister'],
  ['assign', subjects.assign, 'sy.v1.node.trn2-fra1-0007.assign'],
  ['notice', subjects.notice, 'sy.v1.node.trn2-fra1-0007.notice'],
];

const allBuilders: [string, TokenBuilder][] = [
  ...nodeBuilders.map(([name, build]): [string, TokenBuilder] => [name, build]),
  ['infer', subjects.infer],
];

const invalidTokens: [string, string][] = [
  ['empty', ''],
  ['a dot', 'a.b'],
  ['a leading dot', '.a'],
  ['a trailing dot', 'a.'],
  ['the * wildcard', '*'],
  ['an embedded *', 'node*'],
  ['the > wildcard', '>'],
  ['an embedded >', 'a>'],
  ['a space', 'node 1'],
  ['a tab', 'node\t1'],
  ['a newline', 'node\n1'],
  ['a NUL', 'node\u00001'],
  ['65 characters', 'a'.repeat(65)],
  ['a leading hyphen', '-node'],
  ['a leading underscore', '_node'],
  ['non-ASCII letters', 'knoten-ä'],
  ['an emoji', 'node-🔧'],
  ['a fullwidth letter', 'ｎode'],
  ['a slash', 'a/b'],
  ['a colon', 'a:b'],
  ['a $ (NATS system subjects)', '$SYS'],
];

const validTokens = ['a', '7', 'trn2-fra1-0007', 'node_01', 'A-Z_0-9', 'a'.repeat(64), '0-leading-digit'];

describe('subject builders', () => {
  it.each(nodeBuilders)('%s(nodeId) builds the documented subject', (_name, build, expected) => {
    expect(build('trn2-fra1-0007')).toBe(expected);
  });

  it('infer(tenant) builds sy.v1.tenant.<tenant>.infer', () => {
    expect(subjects.infer('acme')).toBe('sy.v1.tenant.acme.infer');
  });

  it('admin subjects are fixed', () => {
    expect(subjects.adminStatus).toBe('sy.v1.admin.status');
    expect(ADMIN_VERBS.map((verb) => subjects.adminNode(verb))).toEqual([
      'sy.v1.admin.node.cordon',
      'sy.v1.admin.node.uncordon',
      'sy.v1.admin.node.drain',
    ]);
  });

  it('wildcards match exactly one token where the id goes', () => {
    expect(subjects.anyRegister).toBe('sy.v1.agent.*.register');
    expect(subjects.anyHeartbeat).toBe('sy.v1.agent.*.heartbeat');
    expect(subjects.anyResult).toBe('sy.v1.agent.*.result');
    expect(subjects.anyDeregister).toBe('sy.v1.agent.*.deregister');
    expect(subjects.anyInfer).toBe('sy.v1.tenant.*.infer');
    expect(subjects.anyAdminNode).toBe('sy.v1.admin.node.*');
  });

  it('every subject starts with the versioned prefix', () => {
    expect(SUBJECT_PREFIX).toBe('sy.v1');
    const built = [...allBuilders.map(([, build]) => build('n1')), subjects.adminStatus, subjects.adminNode('drain')];
    for (const subject of built) expect(subject.startsWith(`${SUBJECT_PREFIX}.`)).toBe(true);
  });

  it.each(validTokens)('accepts the token %j', (token) => {
    expect(isSubjectToken(token)).toBe(true);
    for (const [, build] of allBuilders) expect(subjectToken(build(token), 3)).toBe(token);
  });

  describe.each(invalidTokens)('rejects a token with %s', (_label, token) => {
    it('isSubjectToken is false', () => {
      expect(isSubjectToken(token)).toBe(false);
    });

    it.each(allBuilders)('%s throws a TypeError naming the token', (name, build) => {
      const kind = name === 'infer' ? 'tenant' : 'node id';
      expect(() => build(token)).toThrow(TypeError);
      expect(() => build(token)).toThrow(`${kind} ${JSON.stringify(token)} is not a valid subject token`);
    });
  });

  it('SubjectToken (the zod schema for ids) accepts exactly what isSubjectToken accepts', () => {
    for (const token of validTokens) expect(SubjectToken.safeParse(token).success).toBe(true);
    for (const [, token] of invalidTokens) expect(SubjectToken.safeParse(token).success).toBe(false);
    expect(SUBJECT_TOKEN_PATTERN.source).toBe('^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$');
  });
});

describe('token extraction', () => {
  it.each(nodeBuilders.filter(([, build]) => build('x').startsWith('sy.v1.agent.')))(
    'nodeIdFromAgentSubject reads the node id back from %s',
    (_name, build) => {
      expect(nodeIdFromAgentSubject(build('trn2-fra1-0007'))).toBe('trn2-fra1-0007');
    },
  );

  it('tenantFromSubject reads the tenant back from an infer subject', () => {
    expect(tenantFromSubject(subjects.infer('acme'))).toBe('acme');
    expect(tenantFromSubject(subjects.infer('t'.repeat(64)))).toBe('t'.repeat(64));
  });

  it('returns undefined when the subject is too short', () => {
    expect(nodeIdFromAgentSubject('sy.v1.agent')).toBeUndefined();
    expect(nodeIdFromAgentSubject('sy.v1')).toBeUndefined();
    expect(tenantFromSubject('sy.v1.tenant')).toBeUndefined();
    expect(tenantFromSubject('')).toBeUndefined();
  });

  it('returns the last token when it has no trailing verb', () => {
    expect(nodeIdFromAgentSubject('sy.v1.agent.n1')).toBe('n1');
  });

  // The extractors are positional and do not check the prefix or the verb: callers use them only on
  // messages from their own subscriptions (sy.v1.agent.*.<verb>, sy.v1.tenant.*.infer).
  it('are positional: they do not check the rest of the subject', () => {
    expect(nodeIdFromAgentSubject('sy.v1.tenant.acme.infer')).toBe('acme');
    expect(tenantFromSubject('sy.v1.agent.n1.heartbeat')).toBe('n1');
  });

  it('subjectToken indexes dot-separated tokens from 0', () => {
    const subject = 'sy.v1.agent.n1.heartbeat';
    expect([0, 1, 2, 3, 4, 5].map((i) => subjectToken(subject, i))).toEqual([
      'sy',
      'v1',
      'agent',
      'n1',
      'heartbeat',
      undefined,
    ]);
    expect(subjectToken('single', 0)).toBe('single');
    expect(subjectToken('a..b', 1)).toBe('');
  });
});
