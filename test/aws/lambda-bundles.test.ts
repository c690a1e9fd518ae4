/** Every Lambda of the rack, bundled as `cdk synth` bundles it, stays under 1 MB (sizes: docs/benchmarks.md). */
import { describe, expect, it } from 'vitest';
import { bundleSize, LAMBDA_SIZE_LIMIT, lambdaEntries } from '../support/lambda-bundles';

describe('the rack\u2019s Lambda bundles (esbuild, as the stack builds them)', () => {
  it('are each under 1 MB', async () => {
    const sizes = await Promise.all(lambdaEntries().map(async (e) => ({ name: e.name, bytes: await bundleSize(e.entry) })));
    expect(sizes.length).toBe(22);
    expect(sizes.filter((s) => s.bytes >= LAMBDA_SIZE_LIMIT)).toEqual([]);
  }, 120_000);
});
