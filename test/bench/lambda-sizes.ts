/** `npx tsx test/bench/lambda-sizes.ts`: each Lambda's bundle size, for docs/benchmarks.md. */
import { bundleSize, LAMBDA_SIZE_LIMIT, lambdaEntries } from '../support/lambda-bundles';

for (const { name, entry } of lambdaEntries()) {
  const bytes = await bundleSize(entry);
  process.stdout.write(`| \`${name}\` | ${(bytes / 1024).toFixed(0)} KB | ${((bytes / LAMBDA_SIZE_LIMIT) * 100).toFixed(0)}% |\n`);
}
