/**
 * The AWS rack's Lambda handlers, each bundled twice: as `cdk synth` bundles it (minified,
 * tree-shaken, CommonJS, `@aws-sdk/*` left to the runtime) and the same without minification or
 * tree-shaking. For each: the code's size, and its cold load, a fresh `node` process `require`-ing
 * the bundle, timed inside the child with `process.hrtime` (so Node's own start-up is not counted).
 *
 * The child loads the bundle's externals first and then the bundle, timing each: their sum is the
 * cold load, and the second part (the bundle's own code, the externals already cached) is what
 * minification can change. The `@aws-sdk/*` packages resolve from the project's node_modules, as
 * they resolve from the runtime's on Lambda; so the bundles are written under
 * node_modules/.cache/slipway-bench.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LambdaBundleOptions } from '../support/lambda-bundles';
import { bundleLambda, lambdaEntries } from '../support/lambda-bundles';
import type { BenchSuite, Figure } from './harness';
import { figure, median, ratios } from './harness';

const run = promisify(execFile);

const OUT = fileURLToPath(new URL('../../node_modules/.cache/slipway-bench/lambda', import.meta.url));

/**
 * Run in the child: `node -e CHILD <bundle> <externals as JSON>`. Externals are required as the
 * bundle would require them (`createRequire` at the bundle's path), so that they resolve alike.
 */
const CHILD = `
const { createRequire } = require('node:module');
const [file, externals] = [process.argv[1], JSON.parse(process.argv[2])];
const requireFromBundle = createRequire(file);
const t0 = process.hrtime.bigint();
for (const e of externals) requireFromBundle(e);
const t1 = process.hrtime.bigint();
require(file);
const t2 = process.hrtime.bigint();
process.stdout.write(JSON.stringify({ externals: Number(t1 - t0) / 1e6, own: Number(t2 - t1) / 1e6 }));
`;

interface Load {
  readonly externals: number;
  readonly own: number;
}

const VARIANTS = {
  minified: {},
  unminified: { minify: false, treeShaking: false },
} as const satisfies Record<string, LambdaBundleOptions>;
type Variant = keyof typeof VARIANTS;

/** The handlers read their settings from the environment when first invoked, not when loaded; none is set, and NODE_OPTIONS is cleared so that the child is plain `node`. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

async function coldLoad(file: string, externals: readonly string[]): Promise<Load> {
  const { stdout } = await run(process.execPath, ['-e', CHILD, file, JSON.stringify(externals)], { env: childEnv(), maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as Load;
}

interface Handler {
  readonly name: string;
  readonly bytes: Record<Variant, number>;
  readonly loads: Record<Variant, Load[]>;
}

const kb = (bytes: number): number => bytes / 1024;
const total = (l: Load): number => l.externals + l.own;
const fixed = (n: number): string => n.toFixed(n < 10 ? 1 : 0);

export const lambdaSuite: BenchSuite = {
  name: 'lambda',
  description: 'each AWS rack Lambda bundled as cdk synth does and unminified without tree-shaking: code size, and cold require time in a fresh node',
  async run(ctx) {
    // Each run loads every handler twice, about 35 s of one core's time on the 2-core machine;
    // four keep the suite near 3 minutes there.
    const runs = ctx.runs(4);
    const entries = lambdaEntries();
    const handlers: Handler[] = [];
    const failed: string[] = [];
    const loaded = new Set<string>();
    await rm(OUT, { recursive: true, force: true });
    try {
      for (const [i, { name, entry }] of entries.entries()) {
        ctx.progress(`lambda: ${name} (${i + 1}/${entries.length}), bundling and ${runs} runs`);
        const files = {} as Record<Variant, { file: string; externals: readonly string[]; bytes: number }>;
        for (const variant of Object.keys(VARIANTS) as Variant[]) {
          const bundle = await bundleLambda(entry, VARIANTS[variant]);
          const file = join(OUT, variant, `${name}.js`);
          await mkdir(join(file, '..'), { recursive: true });
          await writeFile(file, bundle.code);
          files[variant] = { file, externals: bundle.externals, bytes: bundle.code.byteLength };
        }
        try {
          // One untimed load when the handler needs an external no earlier one loaded: the first
          // load reads its files from disk, later ones from the page cache, and every run should
          // be alike. (The bundles themselves were just written, so they are in the cache.)
          for (const { file, externals } of Object.values(files)) {
            if (externals.some((e) => !loaded.has(e))) await coldLoad(file, externals);
            for (const e of externals) loaded.add(e);
          }
          const loads: Record<Variant, Load[]> = { minified: [], unminified: [] };
          for (let r = 0; r < runs; r++) {
            loads.minified.push(await coldLoad(files.minified.file, files.minified.externals));
            loads.unminified.push(await coldLoad(files.unminified.file, files.unminified.externals));
          }
          handlers.push({ name, bytes: { minified: files.minified.bytes, unminified: files.unminified.bytes }, loads });
        } catch (error) {
          // A handler that throws when loaded would throw on Lambda before its first invocation.
          const message = (error as { stderr?: string }).stderr?.trim().split('\n').find((l) => /Error/.test(l)) ?? String(error);
          failed.push(`${name}: ${message}`);
          ctx.progress(`lambda: ${name} threw when required: ${message}`);
        }
      }
    } finally {
      await rm(OUT, { recursive: true, force: true });
    }

    const all = (variant: Variant, part: (l: Load) => number): number[] => handlers.flatMap((h) => h.loads[variant].map(part));
    const own = (l: Load): number => l.own;
    const externals = (l: Load): number => l.externals;
    const count = `${handlers.length} handlers`;
    const failures = failed.length === 0 ? '' : `; threw when required, not measured: ${failed.join('; ')}`;
    const figures: Figure[] = [
      figure('lambda: bundle size, minified', 'KB', handlers.map((h) => kb(h.bytes.minified)), `the code as cdk synth bundles it, source map not counted; median of ${count}, one sample each in lambdaEntries() order${failures}`),
      figure('lambda: bundle size, unminified, not tree-shaken', 'KB', handlers.map((h) => kb(h.bytes.unminified)), `the same with minify: false, treeShaking: false; median of ${count}`),
      figure('lambda: bundle size, unminified / minified', 'ratio', handlers.map((h) => h.bytes.unminified / h.bytes.minified), `per handler; median of ${count}`),
      figure('lambda: cold load, minified', 'ms', all('minified', total), `a fresh node requires the bundle (externals first, then the bundle), timed in the child; median of ${runs} runs \u00d7 ${count}`),
      figure('lambda: cold load, unminified', 'ms', all('unminified', total), `the same for the unminified, untree-shaken bundle, each run right after its minified pair`),
      figure('lambda: cold load, unminified / minified', 'ratio', ratios(all('unminified', total), all('minified', total)), 'per run, the pair measured back to back'),
      figure('lambda: own-code load, minified', 'ms', all('minified', own), 'the part of the cold load that requires the bundle itself, its externals already loaded'),
      figure('lambda: own-code load, unminified', 'ms', all('unminified', own), 'the same for the unminified, untree-shaken bundle'),
      figure('lambda: own-code load, unminified / minified', 'ratio', ratios(all('unminified', own), all('minified', own)), 'per run, the pair measured back to back'),
      figure('lambda: externals load (@aws-sdk/*, node:*)', 'ms', all('minified', externals), 'the part of the cold load that requires the bundle\u2019s externals, the same for both variants; minified runs'),
    ];
    for (const h of handlers) {
      const loadOf = (v: Variant): number => median(h.loads[v].map(total));
      const ownOf = (v: Variant): number => median(h.loads[v].map(own));
      figures.push(
        figure(
          `lambda: ${h.name}, cold load`,
          'ms',
          h.loads.minified.map(total),
          `minified ${fixed(kb(h.bytes.minified))} KB, own code ${fixed(ownOf('minified'))} ms; unminified ${fixed(kb(h.bytes.unminified))} KB, load ${fixed(loadOf('unminified'))} ms, own code ${fixed(ownOf('unminified'))} ms`,
        ),
      );
    }
    return figures;
  },
};
