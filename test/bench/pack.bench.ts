/**
 * Bundle packing: what `slipway deploy` does to make its .tgz (`packDirectory`, here followed by
 * writing the archive to a file) against `tar czf` of the same tree, interleaved, on a generated
 * monorepo of 10,000 files.
 *
 * Both archive the same files at the same gzip level (6: Node's zlib default and gzip's), and both
 * write the whole archive to a file. The tree has a `.dockerignore`, which our packer reads and
 * matches every path against, but none of its patterns matches anything in the tree, so that tar,
 * which knows nothing of it, archives the same files; setup checks that the two list the same.
 * tar also writes a header for each folder, and its owners and times; ours neither.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { packDirectory } from '../../lib/pipeline/bundle/pack';
import type { BenchSuite } from './harness';
import { figure, ratios, time } from './harness';

const run = promisify(execFile);

export const PACK_FILES = 10_000;

/** A small deterministic generator (mulberry32): the same tree on every machine and run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['order', 'user', 'cart', 'item', 'price', 'stock', 'invoice', 'payment', 'email', 'queue', 'session', 'token', 'config', 'route', 'handler', 'cache', 'record', 'event', 'report', 'account', 'address', 'shipment', 'refund', 'coupon', 'review', 'search', 'index', 'metric', 'status', 'result'];
const VERBS = ['get', 'set', 'load', 'save', 'find', 'create', 'update', 'remove', 'parse', 'format', 'validate', 'render', 'send', 'fetch', 'build', 'apply'];
const TYPES = ['string', 'number', 'boolean', 'Date', 'Buffer', 'unknown', 'Record<string, string>', 'readonly string[]'];
const FOLDERS = ['src', 'lib', 'components', 'utils', 'api', 'models', 'test', 'handlers', 'views', 'hooks', 'routes', 'store'];

/** Roughly what source code compresses to (about 4:1 with gzip): identifiers drawn from a vocabulary, in the usual shapes. */
function sourceText(random: () => number, bytes: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const name = (): string => `${pick(VERBS)}${pick(WORDS).replace(/^./, (c) => c.toUpperCase())}${Math.floor(random() * 100)}`;
  const parts: string[] = [`import { ${name()}, ${name()} } from '../${pick(FOLDERS)}/${pick(WORDS)}';\n\n`];
  let length = parts[0]?.length ?? 0;
  while (length < bytes) {
    const fn = name();
    const arg = pick(WORDS);
    const chunk =
      random() < 0.5
        ? `/** ${pick(VERBS)}s the ${pick(WORDS)} of a ${pick(WORDS)}, or ${Math.floor(random() * 1000)} when there is none. */\nexport function ${fn}(${arg}: ${pick(TYPES)}): ${pick(TYPES)} {\n  const ${pick(WORDS)} = ${name()}(${arg}, ${Math.floor(random() * 10000)});\n  if (!${arg}) throw new Error('${pick(WORDS)} ${pick(WORDS)} missing');\n  return ${name()}(${arg});\n}\n\n`
        : `export interface ${pick(WORDS).replace(/^./, (c) => c.toUpperCase())}${Math.floor(random() * 1000)} {\n  readonly ${pick(WORDS)}: ${pick(TYPES)};\n  readonly ${pick(WORDS)}Id: ${pick(TYPES)};\n  ${pick(WORDS)}?: ${pick(TYPES)};\n}\n\n`;
    parts.push(chunk);
    length += chunk.length;
  }
  return parts.join('').slice(0, bytes);
}

/** Generated JSON (fixtures, lock files): repetitive keys, varied values. */
function jsonText(random: () => number, bytes: number): string {
  const rows: string[] = [];
  let length = 2;
  for (let i = 0; length < bytes; i++) {
    const row = `  {"id": ${i}, "${WORDS[i % WORDS.length] ?? 'x'}": "${Math.floor(random() * 1e9).toString(36)}", "version": "${Math.floor(random() * 20)}.${Math.floor(random() * 50)}.${Math.floor(random() * 10)}", "integrity": "sha512-${Buffer.from(Array.from({ length: 24 }, () => Math.floor(random() * 256))).toString('base64')}"}`;
    rows.push(row);
    length += row.length + 2;
  }
  return `[\n${rows.join(',\n')}\n]\n`;
}

/** Between `min` and `max`, skewed towards `min` as file sizes are. */
function size(random: () => number, min: number, max: number): number {
  return Math.floor(min * (max / min) ** (random() * random()));
}

const SERVICES = 8;

const CONVOX_YML = `services:
  web:
    build: .
    port: 3000
${Array.from({ length: SERVICES }, (_, i) => `  svc-${i}:\n    build: ./services/svc-${i}\n    port: ${4000 + i}\n    internal: true\n`).join('')}`;

/** Patterns a monorepo's .dockerignore has; the tree has none of these paths (see the top). */
const DOCKERIGNORE = ['.git', 'node_modules', '**/node_modules', 'coverage', '**/*.log', '*.tsbuildinfo', '.env', '!.env.example', 'tmp/**'].join('\n');

/**
 * A monorepo of `files` files: 40 packages and the services of the convox.yml, folders nested up
 * to five deep. 88% source files (300 B to 12 KB), 9% docs and JSON (4 to 48 KB), 2% large JSON
 * fixtures (40 to 400 KB) and 1% binary assets (20 to 300 KB, incompressible), plus the root's
 * convox.yml, .dockerignore, .gitignore, package.json and README.md. Returns its size in bytes.
 */
export async function generateMonorepo(dir: string, files = PACK_FILES): Promise<number> {
  const random = prng(0x5eed);
  const root: Record<string, string> = {
    'convox.yml': CONVOX_YML,
    '.dockerignore': `${DOCKERIGNORE}\n`,
    '.gitignore': 'node_modules/\ncoverage/\n*.log\n',
    'package.json': `${JSON.stringify({ name: 'monorepo', private: true, workspaces: ['packages/*', 'services/*'] }, null, 2)}\n`,
    'README.md': `# Monorepo\n\n${sourceText(random, 2000)}\n`,
  };
  let total = 0;
  for (const [name, text] of Object.entries(root)) {
    await writeFile(join(dir, name), text);
    total += Buffer.byteLength(text);
  }
  const tops = [...Array.from({ length: 40 }, (_, i) => `packages/pkg-${i}`), ...Array.from({ length: SERVICES }, (_, i) => `services/svc-${i}`)];
  const made = new Set<string>();
  for (let i = 0; i < files - Object.keys(root).length; i++) {
    const depth = Math.floor(random() * 5);
    const folder = [tops[Math.floor(random() * tops.length)] ?? 'packages/pkg-0', ...Array.from({ length: depth }, () => FOLDERS[Math.floor(random() * FOLDERS.length)] ?? 'src')].join('/');
    const kind = random();
    let name: string;
    let body: string | Buffer;
    if (kind < 0.88) {
      name = `${VERBS[i % VERBS.length] ?? 'get'}-${WORDS[Math.floor(random() * WORDS.length)] ?? 'x'}-${i}.${random() < 0.7 ? 'ts' : 'js'}`;
      body = sourceText(random, size(random, 300, 12_000));
    } else if (kind < 0.97) {
      name = random() < 0.5 ? `notes-${i}.md` : `data-${i}.json`;
      body = name.endsWith('.md') ? sourceText(random, size(random, 4_000, 48_000)) : jsonText(random, size(random, 4_000, 48_000));
    } else if (kind < 0.99) {
      name = `fixture-${i}.json`;
      body = jsonText(random, size(random, 40_000, 400_000));
    } else {
      name = `asset-${i}.png`;
      body = Buffer.from(Array.from({ length: size(random, 20_000, 300_000) }, () => Math.floor(random() * 256)));
    }
    const path = join(dir, folder, name);
    if (!made.has(folder)) {
      await mkdir(dirname(path), { recursive: true });
      made.add(folder);
    }
    await writeFile(path, body);
    total += Buffer.byteLength(body);
  }
  return total;
}

/** The regular files in a .tgz, without a leading `./`: to check that both sides archive the same. */
function tarFiles(tgz: Buffer): string[] {
  const tar = gunzipSync(tgz);
  const names: string[] = [];
  let pax: string | undefined;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const bytes = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const body = tar.subarray(offset + 512, offset + 512 + bytes);
    // Long names: ours writes a pax header, GNU tar an 'L' entry, each naming the next entry.
    if (type === 'x') pax = /\d+ path=(.*)\n/.exec(body.toString('utf8'))?.[1];
    else if (type === 'L') pax = body.toString('utf8').replace(/\0.*$/s, '');
    else {
      if (type === '0') names.push((pax ?? name).replace(/^\.\//, ''));
      pax = undefined;
    }
    offset += 512 + Math.ceil(bytes / 512) * 512;
  }
  return names.sort();
}

export const packSuite: BenchSuite = {
  name: 'pack',
  description: `slipway deploy\u2019s bundle packing against tar czf, on a generated monorepo of ${PACK_FILES.toLocaleString('en-US')} files`,
  async run(ctx) {
    const runs = ctx.runs(5);
    const temp = await mkdtemp(join(tmpdir(), 'slipway-bench-pack-'));
    try {
      const tree = join(temp, 'tree');
      await mkdir(tree);
      ctx.progress(`pack: generating ${PACK_FILES.toLocaleString('en-US')} files in ${tree}`);
      const generating = Date.now();
      const treeBytes = await generateMonorepo(tree);
      ctx.progress(`pack: generated ${(treeBytes / 2 ** 20).toFixed(0)} MB in ${((Date.now() - generating) / 1000).toFixed(0)} s`);
      const oursFile = join(temp, 'slipway.tgz');
      const tarFile = join(temp, 'tar.tgz');
      const ours = async (): Promise<void> => {
        const { bundle } = await packDirectory(tree);
        await writeFile(oursFile, bundle);
      };
      // GNU tar pipes through `gzip` at its default level, 6, as Node's zlib does; GZIP in the
      // environment would pass gzip other options.
      const tarEnv = { ...process.env };
      delete tarEnv.GZIP;
      const tar = async (): Promise<void> => {
        await run('tar', ['czf', tarFile, '-C', tree, '.'], { env: tarEnv });
      };

      // Untimed: warms the page cache and the JIT, and checks both archive the same files.
      await ours();
      await tar();
      const [oursNames, tarNames] = [tarFiles(await readFile(oursFile)), tarFiles(await readFile(tarFile))];
      if (oursNames.length !== PACK_FILES || oursNames.join('\n') !== tarNames.join('\n')) {
        throw new Error(`the two archives differ: slipway packed ${oursNames.length} files, tar ${tarNames.length}; expected ${PACK_FILES} each`);
      }

      const oursMs: number[] = [];
      const tarMs: number[] = [];
      const oursKb: number[] = [];
      const tarKb: number[] = [];
      for (let r = 0; r < runs; r++) {
        ctx.progress(`pack: run ${r + 1}/${runs}`);
        oursMs.push(await time(ours));
        oursKb.push((await stat(oursFile)).size / 1024);
        tarMs.push(await time(tar));
        tarKb.push((await stat(tarFile)).size / 1024);
      }
      const mb = (treeBytes / 2 ** 20).toFixed(0);
      return [
        figure(`pack: slipway deploy packing, ${PACK_FILES.toLocaleString('en-US')} files`, 'ms', oursMs, `packDirectory (honouring .dockerignore, gzip level 6 in-process) then writing the .tgz, on a generated ${mb} MB monorepo`),
        figure('pack: tar czf, same tree', 'ms', tarMs, 'tar czf out.tgz -C tree . (GNU tar piping to gzip -6, a second process), each run right after ours'),
        figure('pack: slipway / tar czf', 'ratio', ratios(oursMs, tarMs), 'per run, the pair measured back to back'),
        figure('pack: archive size, slipway', 'KB', oursKb, 'the .tgz slipway deploy uploads; the same bytes every run'),
        figure('pack: archive size, tar czf', 'KB', tarKb, 'with a header per folder and owners and times, which ours leaves out'),
      ];
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  },
};
