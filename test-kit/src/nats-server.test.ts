import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { NatsServerProcess } from './nats-server.js';

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
});
