/**
 * Golden files: the objects the examples and the migration guide's manifests render to, checked
 * in under test/fixtures/kubernetes/golden/ (UPDATE_GOLDEN=1 rewrites them). Every object of
 * every one, and of every Convox conformance fixture that loads and validates, passes the
 * validator.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertValid, loadManifest } from '../../lib/manifest';
import { renderRelease } from '../../lib/kubernetes/render';
import { formatProblem, validateObjects } from '../../lib/kubernetes/validate';
import { conformanceDir, FIXTURES, REPO_ROOT } from '../support/paths';
import { credentialsFor, RACK, render, RELEASE, toYaml } from './fixtures';

const GOLDEN = join(FIXTURES, 'kubernetes/golden');
const update = process.env.UPDATE_GOLDEN === '1';

/** The app environment each guide manifest requires (as in test/manifest/guide.test.ts). */
const GUIDE_ENV: Record<string, Record<string, string>> = {
  '03-notifications-extracted.yml': { NOTIFICATIONS_URL: 'http://notifications.myapp.convox.local:4000' },
  '11-ecommerce.yml': { STRIPE_KEY: 'sk_test_x', PAYMENT_ENCRYPTION_KEY: 'k' },
  '12-environment-secrets.yml': { DATABASE_URL: 'postgres://user:secret@db.example.com:5432/app', API_KEY: 'a', SESSION_SECRET: 's' },
};

interface Case {
  readonly name: string;
  readonly file: string;
  readonly app: string;
  readonly env: Record<string, string>;
}

const guideDir = join(FIXTURES, 'guide');
const cases: Case[] = [
  { name: 'example-ecommerce', file: join(REPO_ROOT, 'examples/ecommerce/convox.yml'), app: 'ecommerce', env: { STRIPE_KEY: 'sk_test_x', PAYMENT_ENCRYPTION_KEY: '00'.repeat(32) } },
  { name: 'example-monolith', file: join(REPO_ROOT, 'examples/monolith/convox.yml'), app: 'monolith', env: {} },
  ...readdirSync(guideDir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => ({ name: `guide-${f.replace(/\.yml$/, '')}`, file: join(guideDir, f), app: 'myapp', env: GUIDE_ENV[f] ?? {} })),
];

describe('golden renders', () => {
  it('cover the examples and every guide manifest', () => {
    expect(cases.length).toBe(14);
  });

  for (const c of cases) {
    it(`${c.name} renders as test/fixtures/kubernetes/golden/${c.name}.yaml, and every object is valid`, () => {
      const objects = render(readFileSync(c.file, 'utf8'), { app: c.app, env: c.env });
      expect(validateObjects(objects).map(formatProblem)).toEqual([]);
      const yaml = toYaml(objects);
      const golden = join(GOLDEN, `${c.name}.yaml`);
      if (update) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(golden, yaml);
      }
      expect(existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1 to write it`).toBe(true);
      expect(yaml).toBe(readFileSync(golden, 'utf8'));
    });
  }
});

interface ExpectedEntry {
  cases: { env: Record<string, string>; loadError: string | null; validateError: string | null }[];
}

const { dir, found } = conformanceDir();
if (!found) {
  console.warn(`\n  Convox conformance fixtures not found at ${dir}: skipping their Kubernetes renders. Set SLIPWAY_CONFORMANCE_DIR to their folder to run them.\n`);
}
const expected: Record<string, ExpectedEntry> = found ? (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, ExpectedEntry>) : {};
const valid = Object.entries(expected)
  .filter(([file]) => file !== '_meta')
  .flatMap(([file, entry]) => entry.cases.filter((c) => c.loadError === null && c.validateError === null).map((c) => ({ file, env: c.env })));

describe.skipIf(!found)(`Convox conformance fixtures rendered for Kubernetes (${dir})`, () => {
  it('include dozens of valid manifests', () => {
    expect(valid.length).toBeGreaterThanOrEqual(40);
  });

  for (const { file, env } of valid) {
    it(`${file} with env ${JSON.stringify(env)}: every rendered object is valid`, () => {
      const loaded = loadManifest(readFileSync(join(dir, file), 'utf8'), { env, file });
      assertValid(loaded);
      const { manifest } = loaded;
      const objects = renderRelease({
        rack: RACK,
        app: 'conformance',
        release: { id: RELEASE, app: 'conformance', build: 'BGOLDENAAAA', envVersion: 1, description: '', createdAt: '' },
        manifest,
        images: manifest.services.map((s) => ({ service: s.name, image: `registry.example.com/conformance:${s.name}`, contextHash: '', buildHash: '', reused: false })),
        env,
        resourceCredentials: credentialsFor(manifest),
      });
      expect(objects.length).toBeGreaterThan(0);
      expect(validateObjects(objects).map(formatProblem)).toEqual([]);
    });
  }
});
