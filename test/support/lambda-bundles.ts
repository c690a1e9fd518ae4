/**
 * The Lambda bundles as `cdk synth` builds them (same esbuild settings as the stack's
 * NodejsFunctions), built in memory: for the size check in the tests and the figures in
 * docs/benchmarks.md. Every function must stay under 1 MB.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLING, LAMBDAS } from '../../lib/aws/rack-pipeline';

export const LAMBDA_SIZE_LIMIT = 1024 * 1024;

export function lambdaEntries(): { name: string; entry: string }[] {
  const steps = readdirSync(join(LAMBDAS, 'steps')).filter((f) => f.endsWith('.ts')).map((f) => ({ name: `steps/${f.slice(0, -3)}`, entry: join(LAMBDAS, 'steps', f) }));
  return [{ name: 'bundle-trigger', entry: join(LAMBDAS, 'bundle-trigger.ts') }, ...steps.sort((a, b) => a.name.localeCompare(b.name))];
}

/** Departures from the stack's settings, for comparison (the benchmark's unminified variant). */
export interface LambdaBundleOptions {
  /** Default: the stack's `minify`. */
  readonly minify?: boolean;
  /** Default: esbuild's, which tree-shakes whenever it bundles. */
  readonly treeShaking?: boolean;
}

export interface LambdaBundle {
  /** The code alone: the source map ships beside it and does not load unless an error is printed. */
  readonly code: Uint8Array;
  /** What the code `require`s at run time rather than carrying: the runtime's `@aws-sdk/*` packages and Node's built-ins. */
  readonly externals: readonly string[];
}

/** One Lambda bundled as the stack bundles it, in memory; `options` departs from those settings. */
export async function bundleLambda(entry: string, options: LambdaBundleOptions = {}): Promise<LambdaBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: LAMBDA_BUNDLING.target ?? 'node24',
    format: 'cjs',
    minify: options.minify ?? LAMBDA_BUNDLING.minify ?? false,
    ...(options.treeShaking === undefined ? {} : { treeShaking: options.treeShaking }),
    external: [...(LAMBDA_BUNDLING.externalModules ?? [])],
    // Only for `externals`: the metafile is not part of the output.
    metafile: true,
    // esbuild names the output after the entry even when it does not write it; the name is not used.
    outdir: 'out',
    write: false,
    logLevel: 'silent',
  });
  const [output, ...rest] = result.outputFiles;
  if (!output || rest.length > 0) throw new Error(`esbuild produced ${result.outputFiles.length} files for ${entry}, expected the code alone`);
  const externals = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external === true).map((i) => i.path)));
  return { code: output.contents, externals: [...externals].sort() };
}

/** The minified code's size in bytes (the source map ships beside it and does not load unless an error is printed). */
export async function bundleSize(entry: string): Promise<number> {
  return (await bundleLambda(entry)).code.byteLength;
}
