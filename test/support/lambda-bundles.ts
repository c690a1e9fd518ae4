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

/** The minified code's size in bytes (the source map ships beside it and does not load unless an error is printed). */
export async function bundleSize(entry: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: LAMBDA_BUNDLING.target ?? 'node24',
    format: 'cjs',
    minify: LAMBDA_BUNDLING.minify ?? false,
    external: [...(LAMBDA_BUNDLING.externalModules ?? [])],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce((sum, f) => sum + f.contents.byteLength, 0);
}
