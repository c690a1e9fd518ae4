/** Every Lambda of the rack, bundled as `cdk synth` bundles it, stays under 1 MB (sizes: docs/benchmarks.md). */
import { describe, expect, it } from 'vitest';
import { STEP_NAMES } from '../../lib/aws/step-capabilities';
import { bundleSize, LAMBDA_SIZE_LIMIT, lambdaEntries } from '../support/lambda-bundles';

describe('the rack\u2019s Lambda bundles (esbuild, as the stack builds them)', () => {
  it('are each under 1 MB', async () => {
    const sizes = await Promise.all(lambdaEntries().map(async (e) => ({ name: e.name, bytes: await bundleSize(e.entry) })));
    // One per step, and the bundle trigger.
    expect(sizes.length).toBe(STEP_NAMES.length + 1);
    expect(sizes.filter((s) => s.bytes >= LAMBDA_SIZE_LIMIT)).toEqual([]);
  }, 120_000);
});
