/**
 * The local runtime never hands one loopback port to two of its listeners. A replica binds its
 * port only once its process has started, and meanwhile the system may offer that free port again
 * (it does under a burst of deploys). Here `freePort` (mocked: no peer can make the kernel repeat
 * itself on demand) offers every port twice in a row; real processes and real proxies run on the
 * ports the runtime keeps.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalRuntime } from '../../../lib/local/runtime/local-runtime';
import type * as Loopback from '../../../lib/local/loopback';
import type { BuildId, ReleaseId } from '../../../lib/pipeline/domain/ids';

vi.mock('../../../lib/local/loopback', async (importOriginal) => {
  const real = await importOriginal<typeof Loopback>();
  let again: number | undefined;
  return {
    ...real,
    freePort: async (preferred?: number): Promise<number> => {
      if (again !== undefined) {
        const port = again;
        again = undefined;
        return port;
      }
      const port = await real.freePort(preferred);
      again = port;
      return port;
    },
  };
});

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : process.env.APP));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
const MANIFEST = 'services:\n  web:\n    build: .\n    port: 3000\n    health:\n      path: /health\n      grace: 0\n      interval: 1\n';
const APPS = ['alpha', 'beta', 'gamma'];

let dir: string;
let runtime: LocalRuntime;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-ports-'));
  const image = join(dir, 'images', 'app');
  mkdirSync(join(image, 'rootfs', 'app'), { recursive: true });
  writeFileSync(join(image, 'rootfs', 'app', 'server.js'), SERVER);
  writeFileSync(join(image, 'image.json'), JSON.stringify({ version: 1, workdir: '/app', env: {}, entrypoint: [], cmd: ['node', 'server.js'], expose: [], contextHash: 'app' }));
  runtime = new LocalRuntime({ stateDir: join(dir, 'state'), rack: 'local', resources: { linkEnv: () => Promise.resolve({}) } });
  await runtime.start();
  const release = (app: string) => ({ id: 'RAAAAAAAAAA' as ReleaseId, app, build: 'BAAAAAAAAAA' as BuildId, envVersion: 1, description: '', createdAt: '' });
  await Promise.all(APPS.map((app) => runtime.apply({ app, release: release(app), manifest: MANIFEST, images: [{ service: 'web', image, contextHash: 'h', buildHash: 'h', reused: false }], env: {} })));
});

afterAll(async () => {
  await runtime.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('loopback ports of the local runtime (freePort mocked to offer each port twice)', () => {
  it('gives every replica and internal proxy a port of its own, so each app serves itself', async () => {
    await expect.poll(() => APPS.every((app) => runtime.processes(app).some((p) => p.ready)), { timeout: 30_000, interval: 100 }).toBe(true);
    const replicas = APPS.flatMap((app) => runtime.processes(app).map((p) => p.port));
    const proxies = APPS.map((app) => runtime.internalPort(app, 'web'));
    const ports = [...replicas, ...proxies];
    expect(ports.every((p) => typeof p === 'number')).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
    for (const app of APPS) {
      expect(runtime.processes(app)).toEqual([expect.objectContaining({ phase: 'running', ready: true, restarts: 0 })]);
      expect(await (await fetch(`http://127.0.0.1:${runtime.backend(app, 'web') ?? 0}/`)).text()).toBe(app);
    }
  }, 60_000);
});
