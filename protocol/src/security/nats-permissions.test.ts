import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subjects } from '../subjects.js';
import {
  ANY_NODE,
  inboxPrefixOf,
  type NatsIdentity,
  NatsIdentityError,
  type NatsPermissions,
  permissionsOf,
} from './nats-permissions.js';

/**
 * Whether nats-server would let a subscription or publish on `subject` through `allow`: `*` in a
 * pattern stands for any one token (a `*` in the subject included), `>` for one or more trailing
 * tokens (a `>` in the subject included); a wildcard in the subject needs one at least as wide.
 */
function allowed(allow: readonly string[], subject: string): boolean {
  const wanted = subject.split('.');
  return allow.some((pattern) => {
    const tokens = pattern.split('.');
    for (const [i, token] of tokens.entries()) {
      const candidate = wanted[i];
      if (candidate === undefined) return false;
      if (token === '>') return true;
      if (candidate === '>') return false;
      if (token === '*') continue;
      if (token !== candidate) return false;
    }
    return tokens.length === wanted.length;
  });
}

function mayPublish(permissions: NatsPermissions, subject: string): boolean {
  return allowed(permissions.publish.allow, subject);
}

function maySubscribe(permissions: NatsPermissions, subject: string): boolean {
  return allowed(permissions.subscribe.allow, subject);
}

/** The subjects of `wanted` that `may` refuses (empty when it allows them all). */
function refused(
  may: (permissions: NatsPermissions, subject: string) => boolean,
  permissions: NatsPermissions,
  wanted: readonly string[],
): string[] {
  return wanted.filter((subject) => !may(permissions, subject));
}

/** The subjects of `unwanted` that `may` allows (empty when it refuses them all). */
function allowedOf(
  may: (permissions: NatsPermissions, subject: string) => boolean,
  permissions: NatsPermissions,
  unwanted: readonly string[],
): string[] {
  return unwanted.filter((subject) => may(permissions, subject));
}

const scheduler: NatsIdentity = { role: 'scheduler', user: 'sched-a' };
const agent: NatsIdentity = { role: 'agent', user: 'agent-1', nodeIds: ['n1', 'n2'] };
const poolAgent: NatsIdentity = { role: 'agent', user: 'pool', nodeIds: ANY_NODE };
const client: NatsIdentity = { role: 'client', user: 'alice', tenant: 'acme' };
const operator: NatsIdentity = { role: 'operator', user: 'ops' };

describe('allowed (the matcher these tests rely on)', () => {
  it.each([
    [['a.*.c'], 'a.b.c', true],
    [['a.*.c'], 'a.b.d', false],
    [['a.*.c'], 'a.b.c.d', false],
    [['a.>'], 'a.b.c', true],
    [['a.>'], 'a', false],
    [['a.b.>'], 'a.*.c', false],
    [['a.*.>'], 'a.*.c', true],
    [['a.*'], 'a.>', false],
    [['a.>'], 'a.>', true],
  ])('%j allows %s: %s', (allow, subject, expected) => {
    expect(allowed(allow, subject)).toBe(expected);
  });
});

describe('inboxPrefixOf', () => {
  it('gives each identity a prefix of its own, under its role (and tenant for a client)', () => {
    expect(inboxPrefixOf(scheduler)).toBe('_INBOX.sched.sched-a');
    expect(inboxPrefixOf(agent)).toBe('_INBOX.agent.agent-1');
    expect(inboxPrefixOf(client)).toBe('_INBOX.tenant.acme.alice');
    expect(inboxPrefixOf(operator)).toBe('_INBOX.op.ops');
  });

  it('lets every identity subscribe to its own replies and to nobody else’s', () => {
    const everyone = [scheduler, agent, poolAgent, client, operator];
    const readable = everyone.map((identity) => {
      const permissions = permissionsOf(identity);
      return [
        identity.user,
        everyone
          .filter((other) => maySubscribe(permissions, `${inboxPrefixOf(other)}.reply-1`))
          .map((other) => other.user),
        maySubscribe(permissions, '_INBOX.>'),
      ];
    });
    expect(readable).toEqual(everyone.map((identity) => [identity.user, [identity.user], false]));
  });
});

describe('permissionsOf', () => {
  it('lets the scheduler serve every tenant, agent and admin subject and answer requests', () => {
    const permissions = permissionsOf(scheduler);
    expect(
      refused(maySubscribe, permissions, [
        subjects.anyRegister,
        subjects.anyHeartbeat,
        subjects.anyInfer,
        subjects.anySessionVerb,
        subjects.anyBatchVerb,
        subjects.anyAdminNode,
        subjects.adminStatus,
        subjects.anyBatchWork,
      ]),
    ).toEqual([]);
    expect(
      refused(mayPublish, permissions, [
        subjects.assign('n1'),
        subjects.notice('n1'),
        subjects.nodeSession('n1', 'adopt'),
      ]),
    ).toEqual([]);
    expect(maySubscribe(permissions, subjects.assign('n1'))).toBe(false);
    expect(permissions.allowResponses).toBe(true);
  });

  it('holds an agent to the subjects of its own nodes', () => {
    const permissions = permissionsOf(agent);
    const ownNodes = ['n1', 'n2'];
    expect(
      refused(
        mayPublish,
        permissions,
        ownNodes.flatMap((node) => [
          subjects.register(node),
          subjects.heartbeat(node),
          subjects.result(node),
          subjects.deregister(node),
        ]),
      ),
    ).toEqual([]);
    expect(
      refused(
        maySubscribe,
        permissions,
        ownNodes.flatMap((node) => [
          subjects.assign(node),
          subjects.notice(node),
          subjects.nodePower(node),
          subjects.nodeCancelAnyTenant(node),
          subjects.nodeSession(node, 'release'),
          subjects.sessionTurn('acme', 's1', node),
        ]),
      ),
    ).toEqual([]);
    expect(
      allowedOf(mayPublish, permissions, [subjects.heartbeat('n3'), subjects.register('n3'), subjects.anyHeartbeat]),
    ).toEqual([]);
    expect(
      allowedOf(maySubscribe, permissions, [
        subjects.assign('n3'),
        subjects.sessionTurn('acme', 's1', 'n3'),
        'sy.v1.node.*.assign',
        subjects.anyInfer,
      ]),
    ).toEqual([]);
    // It answers clients and the scheduler, and writes its sessions' turn log, but asks nothing of tenants or admin.
    expect(mayPublish(permissions, `${inboxPrefixOf(client)}.r1`)).toBe(true);
    expect(mayPublish(permissions, `${inboxPrefixOf(scheduler)}.r1`)).toBe(true);
    expect(mayPublish(permissions, subjects.sessionLog('s1'))).toBe(true);
    expect(mayPublish(permissions, subjects.infer('acme'))).toBe(false);
    expect(mayPublish(permissions, subjects.adminStatus)).toBe(false);
    expect(permissions.allowResponses).toBe(true);
  });

  it('names no node but its own in any node position of an agent’s lists', () => {
    const permissions = permissionsOf(agent);
    const nodePositions = [...permissions.publish.allow, ...permissions.subscribe.allow].flatMap((subject) => {
      const tokens = subject.split('.');
      if (tokens[0] !== 'sy' || tokens[1] !== 'v1') return [];
      if (tokens[2] === 'agent' || tokens[2] === 'node') return [tokens[3]];
      if (tokens[2] === 'tenant' && tokens[6] === 'turn') return [tokens[7]];
      return [];
    });
    expect(nodePositions.length).toBeGreaterThan(0);
    expect(new Set(nodePositions)).toEqual(new Set(['n1', 'n2']));
  });

  it('keeps any agent from speaking for a node that is not its own', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/),
        fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
        (own, other) => {
          fc.pre(own !== other);
          const permissions = permissionsOf({ role: 'agent', user: 'a', nodeIds: [own] });
          expect(mayPublish(permissions, subjects.heartbeat(own))).toBe(true);
          expect(mayPublish(permissions, subjects.heartbeat(other))).toBe(false);
          expect(maySubscribe(permissions, subjects.assign(other))).toBe(false);
          expect(maySubscribe(permissions, subjects.sessionTurn('t', 's', other))).toBe(false);
        },
      ),
    );
  });

  it('gives an any-node agent `*` where the node id goes, and still only agent subjects', () => {
    const permissions = permissionsOf(poolAgent);
    expect(permissions.publish.allow).toContain('sy.v1.agent.*.*');
    expect(permissions.subscribe.allow).toEqual(
      expect.arrayContaining(['sy.v1.node.*.>', 'sy.v1.tenant.*.session.*.turn.*']),
    );
    expect(mayPublish(permissions, subjects.heartbeat('whatever-node'))).toBe(true);
    expect(maySubscribe(permissions, subjects.assign('whatever-node'))).toBe(true);
    expect(mayPublish(permissions, subjects.infer('acme'))).toBe(false);
    expect(mayPublish(permissions, subjects.adminStatus)).toBe(false);
    expect(maySubscribe(permissions, subjects.anyInfer)).toBe(false);
    expect(maySubscribe(permissions, subjects.anyHeartbeat)).toBe(false);
    // The literal node id "any-node" only means the pool as the whole list, not inside one.
    const listed = permissionsOf({ role: 'agent', user: 'a', nodeIds: [ANY_NODE] });
    expect(mayPublish(listed, subjects.heartbeat('n1'))).toBe(false);
    expect(mayPublish(listed, subjects.heartbeat(ANY_NODE))).toBe(true);
  });

  it('holds a client to its tenant and its own inbox, with no answering', () => {
    const permissions = permissionsOf(client);
    expect(permissions).toEqual({
      publish: { allow: ['sy.v1.tenant.acme.>', 'sy.v1.node.*.cancel.acme'] },
      subscribe: { allow: ['_INBOX.tenant.acme.alice.>'] },
      allowResponses: false,
    });
    expect(
      refused(mayPublish, permissions, [
        subjects.infer('acme'),
        subjects.session('acme', 'open'),
        subjects.sessionTurn('acme', 's1', 'n1'),
        subjects.batch('acme', 'submit'),
        subjects.nodeCancel('n1', 'acme'),
      ]),
    ).toEqual([]);
    expect(
      allowedOf(mayPublish, permissions, [
        subjects.infer('other'),
        subjects.sessionTurn('other', 's1', 'n1'),
        subjects.nodeCancel('n1', 'other'),
        subjects.heartbeat('n1'),
        subjects.adminStatus,
        subjects.assign('n1'),
      ]),
    ).toEqual([]);
  });

  it('gives an operator the admin subjects and session-log reads, and nothing of tenants or nodes', () => {
    const permissions = permissionsOf(operator);
    expect(mayPublish(permissions, subjects.adminStatus)).toBe(true);
    expect(mayPublish(permissions, subjects.adminNode('drain'))).toBe(true);
    expect(mayPublish(permissions, '$JS.API.DIRECT.GET.SY_SESSION_LOG')).toBe(true);
    expect(mayPublish(permissions, subjects.infer('acme'))).toBe(false);
    expect(mayPublish(permissions, subjects.assign('n1'))).toBe(false);
    expect(mayPublish(permissions, subjects.heartbeat('n1'))).toBe(false);
    expect(permissions.subscribe.allow).toEqual(['_INBOX.op.ops.>']);
    expect(permissions.allowResponses).toBe(false);
  });

  const badTokens = ['a.b', '*', '>', 'a b', '', 'x'.repeat(65)];
  const withToken: [string, (value: string) => NatsIdentity][] = [
    ['scheduler user', (value) => ({ role: 'scheduler', user: value })],
    ['agent user', (value) => ({ role: 'agent', user: value, nodeIds: ['n1'] })],
    ['agent node id', (value) => ({ role: 'agent', user: 'a', nodeIds: ['n1', value] })],
    ['client user', (value) => ({ role: 'client', user: value, tenant: 'acme' })],
    ['client tenant', (value) => ({ role: 'client', user: 'alice', tenant: value })],
    ['operator user', (value) => ({ role: 'operator', user: value })],
  ];

  describe.each(withToken)('as a %s', (_, identityWith) => {
    it.each(badTokens)('refuses %j with NATS_IDENTITY, quoting it', (bad) => {
      let thrown: unknown;
      try {
        permissionsOf(identityWith(bad));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(NatsIdentityError);
      expect((thrown as NatsIdentityError).code).toBe('NATS_IDENTITY');
      expect((thrown as NatsIdentityError).message).toContain(JSON.stringify(bad));
    });

    it('accepts 64 characters, the longest a subject token may be', () => {
      expect(() => permissionsOf(identityWith('x'.repeat(64)))).not.toThrow();
    });
  });

  it('refuses an agent that hosts no node', () => {
    expect(() => permissionsOf({ role: 'agent', user: 'a', nodeIds: [] })).toThrow(NatsIdentityError);
  });
});
