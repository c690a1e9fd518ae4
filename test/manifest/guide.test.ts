/** Every manifest of the migration guide our users follow must load and validate. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertValid, loadManifest } from '../../lib/manifest';
import { FIXTURES } from '../support/paths';

const dir = join(FIXTURES, 'guide');

/** The app environment each guide manifest declares as required. */
const ENV: Record<string, Record<string, string>> = {
  '03-notifications-extracted.yml': { NOTIFICATIONS_URL: 'http://notifications.myapp.convox.local:4000' },
  '11-ecommerce.yml': { STRIPE_KEY: 'sk_test_x', PAYMENT_ENCRYPTION_KEY: 'k' },
  '12-environment-secrets.yml': { DATABASE_URL: 'postgres://db/app', API_KEY: 'a', SESSION_SECRET: 's' },
};

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yml'))
  .sort();

describe('the migration guide\u2019s manifests', () => {
  it('are all here', () => {
    expect(files.length).toBe(12);
  });

  for (const file of files) {
    it(`${file} loads and validates with no warnings`, () => {
      const loaded = loadManifest(readFileSync(join(dir, file), 'utf8'), { env: ENV[file] ?? {}, file });
      const report = assertValid(loaded);
      expect([...loaded.warnings, ...report.warnings]).toEqual([]);
    });
  }

  it('reads the first manifest as the guide describes it', () => {
    const { manifest } = loadManifest(readFileSync(join(dir, '01-minimal.yml'), 'utf8'));
    const web = manifest.services[0];
    expect(web?.port).toEqual({ port: 3000, scheme: 'http' });
    expect(web?.health.path).toBe('/health');
    expect(web?.scale).toMatchObject({ count: { min: 2, max: 2 }, cpu: 512, memory: 1024 });
    expect(manifest.resources[0]).toEqual({ name: 'mydb', type: 'postgres', options: { storage: '100' } });
  });

  it('keeps RDS options as strings, YAML 1.1 booleans included', () => {
    const { manifest } = loadManifest(readFileSync(join(dir, '02-rds-production.yml'), 'utf8'));
    expect(manifest.resources[0]?.options).toEqual({ class: 'db.t3.medium', storage: '100', encrypted: 'true', backupRetentionPeriod: '7', deletionProtection: 'true' });
  });

  it('makes the extracted notifications service internal with a 1-3 range', () => {
    const { manifest } = loadManifest(readFileSync(join(dir, '03-notifications-extracted.yml'), 'utf8'), { env: ENV['03-notifications-extracted.yml'] ?? {} });
    const notifications = manifest.services.find((s) => s.name === 'notifications');
    expect(notifications).toMatchObject({ internal: true, build: { path: './notifications', manifest: 'Dockerfile' }, scale: { count: { min: 1, max: 3 }, targets: { memory: 80 } } });
  });

  it('fails the ecommerce app without its payment secrets, naming them', () => {
    expect(() => loadManifest(readFileSync(join(dir, '11-ecommerce.yml'), 'utf8'))).toThrow('required env: PAYMENT_ENCRYPTION_KEY, STRIPE_KEY');
  });
});
