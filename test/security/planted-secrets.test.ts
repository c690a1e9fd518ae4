/**
 * The planted-secret scan itself (test/support/planted-secrets.ts), on a folder the test writes:
 * it finds a secret in a file, base64-encoded, inside a gzip file, and in collected text; a hit in
 * a named store is "stored" and a store file others can read is reported; a secret allowed at a
 * place is not a leak there but is one elsewhere. So the e2e suites' scans cannot pass vacuously.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_RACK_STORES, SecretScan, describeHits } from '../support/planted-secrets';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-planted-'));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the planted-secret scan', () => {
  it('makes distinct values of URL-, JSON- and shell-safe characters', () => {
    const scan = new SecretScan();
    const a = scan.plant('api key');
    const b = scan.plant('api key');
    expect(a).toMatch(/^slipway-planted-api-key-[0-9a-f]{24}$/);
    expect(b).not.toBe(a);
    expect(() => scan.watch('short', 'abc')).toThrow(/too short/);
  });

  it('finds a secret in a file, base64-encoded, gzipped, and in collected text; a clean tree has no leak', async () => {
    const dir = tempDir();
    const scan = new SecretScan(LOCAL_RACK_STORES);
    const token = scan.plant('token');
    const dsn = scan.plant('dsn');
    const zipped = scan.plant('zipped');
    mkdirSync(join(dir, 'logs', 'apps'), { recursive: true });
    writeFileSync(join(dir, 'events.jsonl'), '{"detail":{"reason":"nothing secret"}}\n');
    expect((await scan.scan([{ label: 'state', dir }])).leaks).toEqual([]);

    writeFileSync(join(dir, 'logs', 'apps', 'shop.jsonl'), `{"text":"connecting with ${token}"}\n`);
    writeFileSync(join(dir, 'secret.json'), JSON.stringify({ data: Buffer.from(dsn).toString('base64') }));
    writeFileSync(join(dir, 'bundle.tgz'), gzipSync(Buffer.from(`FROM node\nENV X=${zipped}\n`)));
    symlinkSync(join(dir, 'logs'), join(dir, 'loop'));
    scan.collect('cli[stderr] env set', `error: bad value ${token}`);
    const report = await scan.scan([{ label: 'state', dir }]);
    expect(describeHits(report.leaks).join('\n')).not.toContain(token);
    expect(report.leaks.map((h) => [h.label, h.location, h.encoding])).toEqual([
      ['planted token', 'text:cli[stderr] env set', 'plain'],
      ['planted zipped', 'file:state/bundle.tgz!gunzip', 'plain'],
      ['planted token', 'file:state/logs/apps/shop.jsonl', 'plain'],
      ['planted dsn', 'file:state/secret.json', 'base64'],
    ]);
    expect(report.leaks[0]?.excerpt).toBe('error: bad value <planted token>');
  });

  it('counts hits in a store as stored, reports a store file others can read, and honours a secret\u2019s allowances', async () => {
    const dir = tempDir();
    const scan = new SecretScan(LOCAL_RACK_STORES);
    const shown = scan.plant('shown', { allowedIn: [/^text:cli\[stdout\] env get /, /^file:state\/logs\/apps\//] });
    const kept = scan.plant('kept');
    mkdirSync(join(dir, 'records', 'env%23shop'), { recursive: true });
    mkdirSync(join(dir, 'resources', 'shop', 'cache'), { recursive: true });
    mkdirSync(join(dir, 'logs', 'apps'), { recursive: true });
    writeFileSync(join(dir, 'records', 'env%23shop', '0000000001.json'), JSON.stringify({ value: { SHOWN: shown, KEPT: kept }, version: 1 }), { mode: 0o600 });
    writeFileSync(join(dir, 'resources', 'shop', 'cache', 'password'), 'generated-password-123\n', { mode: 0o644 });
    chmodSync(join(dir, 'resources', 'shop', 'cache', 'password'), 0o644);
    expect(await scan.watchResourcePasswords(dir)).toEqual(['password of resource shop/cache']);
    writeFileSync(join(dir, 'logs', 'apps', 'shop.jsonl'), `{"text":"${shown}"}\n`);
    writeFileSync(join(dir, 'events.jsonl'), `{"reason":"the app printed ${shown}"}\n`);
    scan.collect('cli[stdout] env get SHOWN', `${shown}\n`);
    scan.collect('cli[stdout] env', `KEPT=${kept}\n`);

    const report = await scan.scan([{ label: 'state', dir }]);
    expect(report.stored.map((h) => [h.label, h.location])).toEqual([
      ['planted shown', 'file:state/records/env%23shop/0000000001.json'],
      ['planted kept', 'file:state/records/env%23shop/0000000001.json'],
      ['password of resource shop/cache', 'file:state/resources/shop/cache/password'],
    ]);
    expect(report.allowed.map((h) => h.location)).toEqual(['text:cli[stdout] env get SHOWN', 'file:state/logs/apps/shop.jsonl']);
    expect(report.leaks.map((h) => [h.label, h.location])).toEqual([
      ['planted kept', 'text:cli[stdout] env'],
      ['planted shown', 'file:state/events.jsonl'],
    ]);
    expect(report.exposedStores.map((f) => [f.location, f.mode.toString(8)])).toEqual([['file:state/resources/shop/cache/password', '644']]);
  });

  it('proves in place that it detects a secret written where the rack writes', async () => {
    const dir = tempDir();
    const scan = new SecretScan(LOCAL_RACK_STORES);
    scan.plant('first');
    scan.plant('last');
    const { detected } = await scan.selfTest({ label: 'state', dir });
    expect(detected).toEqual(['planted first at planted-secrets-self-test.log (plain)', 'planted first at text:self-test (plain)', 'planted last at planted-secrets-self-test.json (base64)']);
    // And it cleans up after itself.
    expect((await scan.scan([{ label: 'state', dir }])).filesScanned).toBe(0);
    await expect(new SecretScan().selfTest({ label: 'state', dir })).rejects.toThrow(/nothing planted/);
  });
});
