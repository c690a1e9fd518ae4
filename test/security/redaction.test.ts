/**
 * What the planted-secret scan of the local rack found, fixed and pinned here: a release that
 * crash-loops printing its `<NAME>_URL` put the resource's password (which is not in the app's
 * env, so it was not redacted) into the Rollout Failed and Deployment Rolled Back events. Now a
 * URL's password is masked in any redacted text, and the publisher redacts the rack's own secrets
 * for the app (its resources' passwords, read from the resource store) too, or withholds the text.
 * And `env set` no longer quotes a malformed argument back: it may be the value itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAssignment } from '../../lib/cli/env-input';
import { LocalResources } from '../../lib/local/resources/local-resources';
import { EventPublisher, redact } from '../../lib/pipeline/events';
import type { SlipwayEvent } from '../../lib/pipeline/events';

const dir = mkdtempSync(join(tmpdir(), 'slipway-redaction-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('redaction of secrets the caller did not name', () => {
  it('masks the password of any URL with userinfo, whatever the scheme, and leaves other URLs alone', () => {
    expect(redact('cannot reach redis://:0123456789abcdef@127.0.0.1:6379 (ECONNREFUSED)', [])).toBe('cannot reach redis://:****@127.0.0.1:6379 (ECONNREFUSED)');
    expect(redact('postgres://app:s3cr%2Ft@127.0.0.1:5432/app?sslmode=disable and mysql://root:pw@h/app', [])).toBe('postgres://app:****@127.0.0.1:5432/app?sslmode=disable and mysql://root:****@h/app');
    expect(redact('GET http://web.shop.localhost:8080/health?x=1 user@example.com', [])).toBe('GET http://web.shop.localhost:8080/health?x=1 user@example.com');
    // A named secret is still replaced first, longest first.
    expect(redact('key hunter22x in https://u:hunter22x@h/', ['hunter22x'])).toBe('key **** in https://u:****@h/');
  });

  it('redacts the rack\u2019s secrets for the app from reasons and commands, and withholds them when those cannot be read', async () => {
    const sent: SlipwayEvent[] = [];
    const sink = { put: (e: readonly SlipwayEvent[]) => Promise.resolve(void sent.push(...e)) };
    const publisher = new EventPublisher(sink, undefined, (app) => Promise.resolve(app === 'shop' ? ['generatedpass42'] : []));
    const e = await publisher.emit('Run Failed', { app: 'shop', command: 'redis-cli -a generatedpass42 ping', reason: 'exited 1; last output: AUTH generatedpass42 failed' }, ['envvalue1']);
    expect(e.detail).toMatchObject({ command: 'redis-cli -a **** ping', reason: 'exited 1; last output: AUTH **** failed' });
    const failing = new EventPublisher(sink, undefined, () => Promise.reject(new Error('disk gone')));
    const withheld = await failing.emit('Rollout Failed', { app: 'shop', reason: 'last output: AUTH generatedpass42 failed' });
    expect(withheld.detail.reason).toMatch(/^\(withheld: /);
    // Events without free text do not need the lookup.
    expect((await failing.emit('Deployment Started', { app: 'shop' })).detail).toEqual({ app: 'shop' });
    expect(JSON.stringify(sent)).not.toContain('generatedpass42');
  });

  it('env set refuses a malformed KEY=VALUE without quoting it back', () => {
    for (const typo of ['=s3cret-value-typed', 's3cret-value-typed']) {
      let message = '';
      try {
        parseAssignment(typo);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^expected KEY=VALUE, got /);
      expect(message).not.toContain('s3cret');
    }
    expect(parseAssignment('KEY=a=b')).toEqual(['KEY', 'a=b']);
    expect(parseAssignment('KEY=')).toEqual(['KEY', '']);
  });

  it('LocalResources.passwords lists the passwords of the app\u2019s resources from the resource store, and none for a name no app can have', async () => {
    for (const [resource, password] of [['cache', 'aaaaaaaaaaaaaaaa'], ['db', 'bbbbbbbbbbbbbbbb']] as const) {
      mkdirSync(join(dir, 'resources', 'shop', resource), { recursive: true });
      writeFileSync(join(dir, 'resources', 'shop', resource, 'password'), `${password}\n`, { mode: 0o600 });
    }
    mkdirSync(join(dir, 'resources', 'shop', 'queue'), { recursive: true });
    const resources = new LocalResources({ stateDir: dir });
    expect((await resources.passwords('shop')).sort()).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(await resources.passwords('other')).toEqual([]);
    expect(await resources.passwords('../etc')).toEqual([]);
  });
});
