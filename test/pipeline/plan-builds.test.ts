/** Planning builds over real folders: shared contexts build once, unchanged contexts are reused, .dockerignore counts. */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { loadManifest } from '../../lib/manifest';
import { hashBuildContext } from '../../lib/pipeline/build/context';
import { DockerIgnore } from '../../lib/pipeline/build/dockerignore';
import { newBuildId } from '../../lib/pipeline/domain/ids';
import { planBuilds } from '../../lib/pipeline/steps/plan-builds';
import { ReleaseStore } from '../../lib/pipeline/stores/release-store';
import { fileTrees } from '../support/file-tree';

const root = mkdtempSync(join(tmpdir(), 'slipway-plan-'));

const bundle = fileTrees('slipway-plan-bundles-');

const MANIFEST = `services:
  web:
    build: .
    port: 3000
  worker:
    build: .
    command: node worker.js
  notifications:
    build: ./notifications
  proxy:
    image: nginx:1.27
`;

const APP = { 'convox.yml': MANIFEST, Dockerfile: 'FROM node:20\nCOPY . .\n', 'server.js': 'v1', '.dockerignore': 'node_modules\n*.log\n!keep.log\n', 'notifications/Dockerfile': 'FROM node:20\n', 'notifications/index.js': 'n1' };

async function store(): Promise<ReleaseStore> {
  const s = new ReleaseStore(new FileRecordTable(mkdtempSync(join(root, 'store-'))));
  await s.createApp('shop');
  return s;
}

describe('.dockerignore', () => {
  it('matches as Docker does', () => {
    const ignore = new DockerIgnore('# comment\nnode_modules\n*.log\n!important.log\n**/tmp\n/build/\ndocs/**/*.md\n');
    const cases: [string, boolean][] = [
      ['node_modules/x/index.js', true],
      ['src/node_modules', false],
      ['debug.log', true],
      ['important.log', false],
      ['a/b/tmp/file', true],
      ['tmp', true],
      ['build/out.js', true],
      ['docs/a/b/c.md', true],
      ['docs/readme.txt', false],
      ['server.js', false],
    ];
    for (const [path, ignored] of cases) expect(ignore.ignores(path), path).toBe(ignored);
  });
});

describe('planning builds', () => {
  it('builds a shared context once, pulls image services, and hashes what Docker would send', async () => {
    const dir = bundle(APP);
    const plan = await planBuilds({ app: 'shop', bundleDir: dir, manifest: loadManifest(MANIFEST).manifest }, await store());
    expect(plan.builds.map((b) => b.services)).toEqual([['web', 'worker'], ['notifications']]);
    expect(plan.pulled).toEqual([{ service: 'proxy', image: 'nginx:1.27' }]);
    expect(plan.reused).toEqual([]);
  });

  it('reuses the image of an unchanged context, and rebuilds a changed one', async () => {
    const s = await store();
    const dir = bundle(APP);
    const manifest = loadManifest(MANIFEST).manifest;
    const first = await planBuilds({ app: 'shop', bundleDir: dir, manifest }, s);
    const web = first.builds[0];
    await s.putBuild({
      id: newBuildId(),
      app: 'shop',
      bundle: { app: 'shop', key: 'apps/shop/bundles/a.tgz', version: 'v1', etag: 'e', size: 1 },
      manifest: MANIFEST,
      images: (web?.services ?? []).map((service) => ({ service, image: `shop:${service}.B1`, contextHash: web?.contextHash ?? '', buildHash: 'h', reused: false })),
      status: 'complete',
      createdAt: new Date().toISOString(),
    });
    const unchanged = await planBuilds({ app: 'shop', bundleDir: bundle({ ...APP, 'debug.log': 'ignored by .dockerignore' }), manifest }, s);
    expect(unchanged.reused.map((r) => r.service).sort()).toEqual(['web', 'worker']);
    expect(unchanged.builds.map((b) => b.services)).toEqual([['notifications']]);
    const changed = await planBuilds({ app: 'shop', bundleDir: bundle({ ...APP, 'server.js': 'v2' }), manifest }, s);
    expect(changed.builds.map((b) => b.services)).toEqual([['web', 'worker'], ['notifications']]);
  });

  it('refuses a build path that leaves the bundle, directly or through a link, or lacks its Dockerfile', async () => {
    const dir = bundle({ 'convox.yml': 'x', Dockerfile: 'FROM x' });
    symlinkSync('/etc', join(dir, 'etc'));
    await expect(hashBuildContext(dir, { path: '../other', manifest: 'Dockerfile', args: [] })).rejects.toThrow(/leaves the bundle/);
    await expect(hashBuildContext(dir, { path: 'etc', manifest: 'Dockerfile', args: [] })).rejects.toThrow(/outside the bundle through a link/);
    await expect(hashBuildContext(dir, { path: '.', manifest: 'Dockerfile.web', args: [] })).rejects.toThrow(/Dockerfile.web not found/);
  });
});
