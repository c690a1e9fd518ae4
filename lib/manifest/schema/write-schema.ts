/**
 * Writes schema/convox.schema.json (`npm run schema:build`), or with --check fails when the
 * committed file differs from what the field tables generate (`npm test` runs the check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSchema } from './generate';

const target = fileURLToPath(new URL('../../../schema/convox.schema.json', import.meta.url));
const text = `${JSON.stringify(generateSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (current !== text) {
    process.stderr.write('schema/convox.schema.json is out of date with lib/manifest/fields; run `npm run schema:build` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('schema/convox.schema.json is up to date\n');
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
