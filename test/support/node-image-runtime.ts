/**
 * A local runtime with one prebuilt image (a tiny HTTP server answering its release id), for
 * tests that roll releases of a `web`/`worker` app out on real processes without building.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../lib/local/runtime/local-runtime';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import type { ScaleOverride } from '../../lib/pipeline/domain/model';

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(process.env.RELEASE));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export interface NodeImageRuntime {
  readonly runtime: LocalRuntime;
  /** Roll a release of app `shop` out: its `web` and `worker` services run the one image. */
  apply(release: string, manifest: string, scale?: Readonly<Record<string, ScaleOverride>>): Promise<void>;
  stop(): Promise<void>;
}

export async function startNodeImageRuntime(prefix: string): Promise<NodeImageRuntime> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const image = join(dir, 'images', 'app');
  mkdirSync(join(image, 'rootfs', 'app'), { recursive: true });
  writeFileSync(join(image, 'rootfs', 'app', 'server.js'), SERVER);
  writeFileSync(join(image, 'image.json'), JSON.stringify({ version: 1, workdir: '/app', env: {}, entrypoint: [], cmd: ['node', 'server.js'], expose: [], contextHash: 'app' }));
  const runtime = new LocalRuntime({ stateDir: join(dir, 'state'), rack: 'local', resources: { linkEnv: () => Promise.resolve({}) } });
  await runtime.start();
  const images = ['web', 'worker'].map((service) => ({ service, image, contextHash: 'h', buildHash: 'h', reused: false }));
  return {
    runtime,
    apply: (release, manifest, scale) =>
      runtime.apply({ app: 'shop', release: { id: release as ReleaseId, app: 'shop', build: 'BAAAAAAAAAA', envVersion: 1, description: '', createdAt: '' }, manifest, images, env: {}, ...(scale ? { scale } : {}) }),
    stop: async () => {
      await runtime.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
