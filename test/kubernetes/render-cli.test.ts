/** `slipway render` run as a user runs it: the real command in a child process. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/cli';
import { REPO_ROOT } from '../support/paths';

const work = mkdtempSync(join(tmpdir(), 'slipway-render-'));
function app(name: string, manifest: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'convox.yml'), manifest);
  return join(dir, 'convox.yml');
}

const SHOP = 'services:\n  web:\n    port: 3000\n    environment: [TOKEN]\n    resources: [db]\n  cron:\n    image: busybox:1.36\n    command: sleep infinity\nresources:\n  db:\n    type: postgres\n';

describe('slipway render', () => {
  it('prints the objects as YAML documents with Secret values masked, placeholders explained at the top', async () => {
    const r = await runCli(['render', '-f', app('shop', SHOP), '-e', 'TOKEN=hunter2-token', '--rack', 'prod']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('# The Kubernetes objects a deploy of ')).toBe(true);
    expect(r.stdout).toContain('# Images are placeholders until a build makes them: <app>/<service>:<release>');
    expect(r.stdout).not.toContain('hunter2-token');
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; stringData?: Record<string, string> });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toContain('Deployment/web');
    expect(objects[0]?.metadata.name).toBe('prod-shop');
    const env = objects.find((o) => o.metadata.name === 'env-web');
    expect(env?.stringData?.TOKEN).toBe('********');
    expect(Object.values(env?.stringData ?? {}).every((v) => v === '********')).toBe(true);
    expect(r.stdout).toContain('image: shop/web:RXXXXXXXXXX');
    expect(r.stdout).toContain('image: busybox:1.36');
  });

  it('prints Secret values with --show-secrets, credentials as placeholders, for the app and release asked', async () => {
    const r = await runCli(['render', '-f', app('shop2', SHOP), '-e', 'TOKEN=hunter2-token', '--app', 'store', '--release', 'RABCDEFGHIJ', '--show-secrets']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TOKEN: hunter2-token');
    expect(r.stdout).toContain('DB_URL: postgres://app:generated-at-first-deploy@resource-db.slipway-store.svc.cluster.local:5432/app?sslmode=disable');
    expect(r.stdout).toContain('image: store/web:RABCDEFGHIJ');
  });

  it('renders the bundled example', async () => {
    const r = await runCli(['render', '-f', join(REPO_ROOT, 'examples/monolith/convox.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('name: slipway-monolith');
  });

  it('fails a bad manifest with the manifest engine\u2019s located error', async () => {
    const r = await runCli(['render', '-f', app('bad', 'services:\n  web:\n    resources: [db]\n')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('service web references a resource that does not exist: db');
    expect(r.stderr).toMatch(/convox\.yml:3:\d+: error: /);
  });

  it('refuses a release id that is not one', async () => {
    const r = await runCli(['render', '-f', app('shop3', SHOP), '-e', 'TOKEN=x', '--release', 'r1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--release r1 is not a release id');
  });
});
