/**
 * The apps the pipeline benchmarks deploy, each in a temporary folder packed as `slipway deploy`
 * packs it: a copy of the e-commerce example (what `npm start` deploys), and a generated app of
 * five small Node services built like the example's.
 *
 * The local builder keeps one image per build-context hash, so a run that must rebuild a service
 * changes a file in that service's context: every app folder has a `bench-revision.txt` per
 * build context, which `revise` rewrites.
 */
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLE_APP } from '../../../lib/cli/commands/start';

export const REVISION_FILE = 'bench-revision.txt';

/** Copy the e-commerce example into `parent/ecommerce` (the app's name is its folder's, as with `npm start`); its build contexts, root first. */
export async function copyEcommerce(parent: string): Promise<{ dir: string; contexts: string[] }> {
  const dir = join(parent, 'ecommerce');
  await cp(EXAMPLE_APP, dir, { recursive: true, filter: (source) => !source.split(/[\\/]/).includes('node_modules') });
  const services = (await readdir(join(dir, 'services'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => join(dir, 'services', e.name));
  return { dir, contexts: [dir, ...services.sort()] };
}

export const FIVE_SERVICES = ['svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-5'] as const;

const SERVER = `const http = require('node:http');
const { readFileSync } = require('node:fs');
const revision = readFileSync(__dirname + '/${REVISION_FILE}', 'utf8').trim();
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.end(process.env.SERVICE + ' ' + process.env.RELEASE + ' ' + revision);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** As the e-commerce services' Dockerfiles: install the (here empty) dependencies, then copy the code. */
const DOCKERFILE = (port: number): string => `FROM node:20-alpine
WORKDIR /app
COPY package*.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
EXPOSE ${port}
CMD ["node", "server.js"]
`;

/**
 * Five services, each in its own folder with its own Dockerfile, port and `/health` path (the
 * manifest's defaults otherwise, as in the e-commerce example); the first is public, the others
 * internal. Written into `parent/<app>`; returns the folder and each service's build context.
 */
export async function writeFiveServiceApp(parent: string, app: string): Promise<{ dir: string; contexts: Record<string, string> }> {
  const dir = join(parent, app);
  const manifest = ['services:'];
  const contexts: Record<string, string> = {};
  for (const [i, name] of FIVE_SERVICES.entries()) {
    const port = 4000 + i;
    manifest.push(`  ${name}:`, `    build: ./${name}`, `    port: ${port}`, '    health: /health', ...(i === 0 ? [] : ['    internal: true']));
    const context = join(dir, name);
    contexts[name] = context;
    await writeFiles(context, {
      Dockerfile: DOCKERFILE(port),
      '.dockerignore': '**/node_modules\n',
      'package.json': `${JSON.stringify({ name: `bench-${name}`, version: '1.0.0', private: true, main: 'server.js' }, null, 2)}\n`,
      // What npm writes for a package without dependencies, so `npm ci` needs no registry.
      'package-lock.json': `${JSON.stringify({ name: `bench-${name}`, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: `bench-${name}`, version: '1.0.0' } } }, null, 2)}\n`,
      'server.js': SERVER,
      [REVISION_FILE]: 'initial\n',
    });
  }
  await writeFiles(dir, { 'convox.yml': `${manifest.join('\n')}\n` });
  return { dir, contexts };
}

/** A new revision of a build context: its hash changes, so the builder must build it again. */
export async function revise(context: string, revision: string): Promise<void> {
  await writeFile(join(context, REVISION_FILE), `${revision}\n`);
}

async function writeFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
}
