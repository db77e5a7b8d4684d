import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { NatsServerProcess } from './nats-server.js';

const passwordUsers = (names: readonly string[]): string =>
  `authorization: { users: [ ${names.map((n) => `{ user: ${n}, password: ${n}-password-long }`).join(', ')} ] }\n`;

describe('NatsServerProcess', () => {
  it('starts a real server on a free port, survives a restart on the same port, and stops', async () => {
    const server = await NatsServerProcess.start();
    try {
      expect(server.port).toBeGreaterThan(0);
      const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
      const sub = nc.subscribe('echo');
      void (async () => {
        for await (const m of sub) m.respond(m.data);
      })();
      expect(new TextDecoder().decode((await nc.request('echo', 'hi', { timeout: 2000 })).data)).toBe('hi');
      const port = server.port;
      // Requests sent while the client is disconnected fail, so wait for its own reconnect (watched from before the restart).
      const reconnected = (async () => {
        for await (const status of nc.status()) if (status.type === 'reconnect') return;
      })();
      await server.restart();
      expect(server.port).toBe(port);
      await reconnected;
      expect(new TextDecoder().decode((await nc.request('echo', 'again', { timeout: 5000 })).data)).toBe('again');
      await nc.close();
    } finally {
      await server.stop();
    }
    expect(server.running).toBe(false);
  });

  it('reloads its configuration on request: a user added to the file can connect once reload() resolves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
    const configFile = join(dir, 'auth.conf');
    writeFileSync(configFile, passwordUsers(['first']));
    const server = await NatsServerProcess.start({ include: configFile });
    try {
      const asSecond = (): ReturnType<typeof connect> =>
        connect({ servers: server.url, user: 'second', pass: 'second-password-long', reconnect: false });
      await expect(asSecond()).rejects.toThrow(/authorization/i);
      writeFileSync(configFile, passwordUsers(['first', 'second']));
      await server.reload();
      const nc = await asSecond();
      // JetStream survived the reload (it would not if -js were a flag the file does not repeat).
      await expect((await jetstreamManager(nc)).getAccountInfo()).resolves.toBeDefined();
      await nc.close();
      writeFileSync(configFile, 'authorization: { users: [ broken');
      await expect(server.reload()).rejects.toThrow(/Failed to reload/);
    } finally {
      await server.stop();
    }
    await expect(server.reload()).rejects.toThrow(/not running/);
    rmSync(dir, { recursive: true, force: true });
  });
});
