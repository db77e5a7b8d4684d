import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { natsAuthOptions, natsServers, redactedUrl } from './nats-credentials.js';
import { createNkeyUser } from './security/nats-server-config.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-creds-'));
const file = (name: string, text: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('natsAuthOptions', () => {
  it('passes user and password, a token, an nkey seed or a creds file, one at a time', () => {
    expect(natsAuthOptions({ user: 'alice', password: 'correct horse' })).toEqual({
      user: 'alice',
      pass: 'correct horse',
    });
    expect(natsAuthOptions({ token: 't0ken' })).toEqual({ token: 't0ken' });
    const seed = file('user.nk', createNkeyUser().seed);
    expect(typeof natsAuthOptions({ nkeySeedFile: seed }).authenticator).toBe('function');
    expect(natsAuthOptions({})).toEqual({});
  });

  it('refuses mixed or half credentials, naming the setting and never its value', () => {
    const attempts = [
      { user: 'alice', token: 'secret-token' },
      { user: 'alice' },
      { password: 'secret-password' },
      { token: '' },
    ];
    for (const credentials of attempts) {
      const thrown: unknown = (() => {
        try {
          natsAuthOptions(credentials);
          return undefined;
        } catch (err) {
          return err;
        }
      })();
      expect(thrown).toBeInstanceOf(ConfigError);
      const message = thrown instanceof Error ? thrown.message : '';
      expect(message).toMatch(/^NATS credentials: /);
      expect(message).not.toMatch(/secret/);
    }
  });

  it('reads the seed and creds files at start-up and says what is wrong with them', () => {
    expect(() => natsAuthOptions({ nkeySeedFile: join(dir, 'missing.nk') })).toThrow(
      /cannot read the nkey seed file .*ENOENT/,
    );
    expect(() => natsAuthOptions({ nkeySeedFile: file('bad.nk', 'not a seed') })).toThrow(
      /does not hold an nkey user seed/,
    );
    expect(() => natsAuthOptions({ credsFile: file('bad.creds', 'nope') })).toThrow(/is not a NATS creds file/);
  });

  it('takes an inbox prefix without wildcards, and TLS files that exist', () => {
    expect(natsAuthOptions({ inboxPrefix: '_INBOX.tenant.acme.alice' })).toEqual({
      inboxPrefix: '_INBOX.tenant.acme.alice',
    });
    expect(() => natsAuthOptions({ inboxPrefix: '_INBOX.>' })).toThrow(/not a subject without wildcards/);
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    expect(natsAuthOptions({ tls: { caFile: ca } })).toEqual({ tls: { caFile: ca } });
    expect(() => natsAuthOptions({ tls: { caFile: join(dir, 'nope.pem') } })).toThrow(/the caFile .* does not exist/);
    expect(() => natsAuthOptions({ tls: { certFile: ca } })).toThrow(/needs its key/);
  });
});

describe('redactedUrl', () => {
  it('hides credentials written into server URLs, and leaves the rest', () => {
    expect(redactedUrl('nats://alice:s3cret@10.0.0.1:4222')).toBe('nats://[redacted]@10.0.0.1:4222');
    expect(redactedUrl('tls://t0ken@nats:4222,nats://bob:pw@n2:4222')).toBe(
      'tls://[redacted]@nats:4222,nats://[redacted]@n2:4222',
    );
    expect(redactedUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    // Spaces after commas, and URLs without a scheme, too.
    expect(redactedUrl('nats://a:4222, alice:s3cret@b:4222')).toBe('nats://a:4222,[redacted]@b:4222');
  });

  it('splits a server list for the client (nats.js would read a joined one as its last host only)', () => {
    expect(natsServers('nats://a:4222, nats://b:4222,')).toEqual(['nats://a:4222', 'nats://b:4222']);
  });
});
