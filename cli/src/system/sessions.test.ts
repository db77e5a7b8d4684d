import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RemoteError, SessionClient, type SessionLogEntry, subjects } from '@switchyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h100, type Stack, startStack, waitFor } from './harness.js';
import { cliEnv } from './processes.js';
import { readLogOf } from '@switchyard/bench';

const readLog = (stack: Stack, sessionId: string): Promise<SessionLogEntry[]> =>
  readLogOf(stack.nats.client, sessionId);

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const run = promisify(execFile);

describe('sessions over a real nats-server with JetStream', () => {
  let stack: Stack;
  let client: SessionClient;
  const cli = async (...args: string[]): Promise<string> =>
    (
      await run(process.execPath, [CLI, 'session', ...args, '--tenant', 'cli'], {
        env: cliEnv(stack.nats.server.url, ['session', '--tenant', 'cli']),
      })
    ).stdout;

  beforeAll(async () => {
    stack = await startStack([h100('sess-0'), h100('sess-1', 'test-1', 2)]);
    // The tenant's own identity: the server holds it to acme's subjects and its own inbox.
    const acme = await stack.nats.connectAs({ role: 'client', user: 'acme-app', tenant: 'acme' });
    client = new SessionClient(acme, { tenant: 'acme', turnDeadlineMs: 5000 });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('opens a session on a node, runs turns there, and keeps an ordered durable log', async () => {
    const session = await client.open({ model: 'llama-3.1-8b', expectedContextTokens: 8000 });
    expect(session).toMatchObject({ state: 'open', tenant: 'acme', model: 'llama-3.1-8b' });
    expect(['sess-0', 'sess-1']).toContain(session.ownerNodeId);
    const first = await client.turn(session.sessionId, { turnKey: 't1', inputTokens: 300, maxOutputTokens: 20 });
    expect(first).toMatchObject({
      turn: 1,
      nodeId: session.ownerNodeId,
      contextTokens: 320,
      restoredContextTokens: 0,
      replayed: false,
    });
    const second = await client.turn(session.sessionId, { turnKey: 't2', inputTokens: 100, maxOutputTokens: 10 });
    expect(second).toMatchObject({ turn: 2, contextTokens: 430, replayed: false });
    const log = await readLog(stack, session.sessionId);
    expect(log.map((e) => [e.turn, e.turnKey, e.contextTokens])).toEqual([
      [1, 't1', 320],
      [2, 't2', 430],
    ]);
  });

  it('answers a retried turn from the log instead of running it again, and refuses a reused key with another body', async () => {
    const session = await client.open({ model: 'llama-3.1-8b' });
    const once = await client.turn(session.sessionId, { turnKey: 'k', inputTokens: 50, maxOutputTokens: 5 });
    const again = await client.turn(session.sessionId, { turnKey: 'k', inputTokens: 50, maxOutputTokens: 5 });
    expect(again).toMatchObject({ turn: once.turn, contextTokens: once.contextTokens, replayed: true });
    await expect(
      client.turn(session.sessionId, { turnKey: 'k', inputTokens: 51, maxOutputTokens: 5 }),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
    });
    expect(await readLog(stack, session.sessionId)).toHaveLength(1);
  });

  it('lists and closes sessions; a closed session takes no turns', async () => {
    const session = await client.open({ model: 'llama-3.1-8b' });
    const listed = await client.list();
    expect(listed.sessions.map((s) => s.sessionId)).toContain(session.sessionId);
    const closed = await client.close(session.sessionId);
    expect(closed.state).toBe('closed');
    await expect(
      client.turn(session.sessionId, { turnKey: 'late', inputTokens: 1, maxOutputTokens: 1 }),
    ).rejects.toMatchObject({
      code: 'SESSION_CLOSED',
    });
  });

  it('remembers a bounded number of owners: a forgotten one is asked for again and the turn still lands', async () => {
    const small = new SessionClient(stack.nats.client, { tenant: 'owners', ownerCacheSize: 2 });
    const opened = [];
    for (let i = 0; i < 4; i++) opened.push(await small.open({ model: 'llama-3.1-8b' }));
    expect(small.cachedOwners).toBe(2);
    // The first session's owner was evicted: the client asks the scheduler, then sends the turn there.
    const turn = await small.turn(opened[0]!.sessionId, { turnKey: 'k', inputTokens: 10, maxOutputTokens: 2 });
    expect(turn).toMatchObject({ turn: 1, nodeId: opened[0]!.ownerNodeId });
    expect(small.cachedOwners).toBe(2);
    for (const session of opened) await small.close(session.sessionId);
    expect(small.cachedOwners).toBe(0);
  });

  it('gives typed errors for unknown sessions, other tenants, unknown models and bad bodies', async () => {
    await expect(
      client.turn('s-000000000000', { turnKey: 'x', inputTokens: 1, maxOutputTokens: 1 }),
    ).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    const mine = await client.open({ model: 'llama-3.1-8b' });
    const intruder = new SessionClient(stack.nats.client, { tenant: 'evil' });
    await expect(intruder.get(mine.sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await expect(intruder.close(mine.sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await expect(client.open({ model: 'no-such-model' })).rejects.toMatchObject({ code: 'UNKNOWN_MODEL' });
    const reply = await stack.nats.client.request(
      subjects.session('acme', 'open'),
      JSON.stringify({ v: 1, model: 'llama-3.1-8b', colour: 'red' }),
      {
        timeout: 2000,
      },
    );
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    const oversize = stack.nats.client.request(
      subjects.sessionTurn('acme', mine.sessionId, mine.ownerNodeId!),
      new Uint8Array(300 * 1024).fill(0x20),
      {
        timeout: 2000,
      },
    );
    expect(JSON.parse(new TextDecoder().decode((await oversize).data))).toMatchObject({
      ok: false,
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    expect((await client.get(mine.sessionId)).state).toBe('open');
  });

  it('moves a drained node’s sessions to another node, which restores them from the log', async () => {
    const session = await client.open({ model: 'llama-3.1-8b' });
    const owner = session.ownerNodeId!;
    await client.turn(session.sessionId, { turnKey: 'before', inputTokens: 400, maxOutputTokens: 40 });
    await stack.nats.client.request(subjects.adminNode('drain'), JSON.stringify({ v: 1, nodeId: owner }), {
      timeout: 2000,
    });
    await waitFor(() => {
      const record = stack.scheduler.sessionRegistry.get(session.sessionId)?.record;
      return record?.state === 'open' && record.ownerNodeId !== owner;
    }, 'the session to move');
    const after = await client.turn(session.sessionId, { turnKey: 'after', inputTokens: 10, maxOutputTokens: 5 });
    expect(after.nodeId).not.toBe(owner);
    expect(after).toMatchObject({ turn: 2, restoredContextTokens: 440, contextTokens: 455 });
    expect((await readLog(stack, session.sessionId)).map((e) => e.turnKey)).toEqual(['before', 'after']);
    await stack.nats.client.request(subjects.adminNode('uncordon'), JSON.stringify({ v: 1, nodeId: owner }), {
      timeout: 2000,
    });
    expect(stack.scheduler.counters.get('sessions.moved')).toBeGreaterThanOrEqual(1);
    expect(RemoteError).toBeDefined();
  });

  it('works from the command line: session open, turn, ls and close', async () => {
    const opened = JSON.parse(await cli('open', '--model', 'llama-3.1-8b')) as { sessionId: string };
    const turn = JSON.parse(
      await cli('turn', opened.sessionId, '--input-tokens', '40', '--max-output-tokens', '4', '--turn-key', 'cli-1'),
    ) as { turn: number };
    expect(turn.turn).toBe(1);
    expect(await cli('ls')).toContain(opened.sessionId);
    expect(JSON.parse(await cli('close', opened.sessionId))).toMatchObject({ state: 'closed' });
    await expect(cli('turn', opened.sessionId, '--turn-key', 'cli-2')).rejects.toMatchObject({
      stderr: expect.stringMatching(/SESSION_CLOSED/),
    });
  });
});
