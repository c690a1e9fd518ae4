/**
 * Convox's own manifest fixtures, with the results Convox's parser gives for them: our engine
 * must give the same, field by field (shared/conformance/convox/README.md says how to compare).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithConvox, runLikeConvox } from '../support/convox-result';
import type { ConvoxResult } from '../support/convox-result';
import { conformanceDir } from '../support/paths';

interface ExpectedEntry {
  cases: (ConvoxResult & { env: Record<string, string> })[];
}

const { dir, found } = conformanceDir();
if (!found) {
  console.warn(`\n  Convox conformance fixtures not found at ${dir}: skipping them. Set SLIPWAY_CONFORMANCE_DIR to their folder to run them.\n`);
}
const expected: Record<string, ExpectedEntry> = found ? (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, ExpectedEntry>) : {};
const entries = Object.entries(expected).filter(([file]) => file !== '_meta');

describe.skipIf(!found)(`Convox conformance fixtures (${dir})`, () => {
  it('covers every fixture listed by Convox', () => {
    expect(entries.length).toBeGreaterThanOrEqual(80);
  });

  for (const [file, entry] of entries) {
    for (const c of entry.cases) {
      it(`${file} with env ${JSON.stringify(c.env)}`, () => {
        const ours = runLikeConvox(readFileSync(join(dir, file), 'utf8'), c.env, file);
        const diff = compareWithConvox(ours, c);
        expect(diff.outcome, 'load/validate outcome').toEqual([]);
        expect(diff.fields, 'normalised manifest').toEqual([]);
        expect(diff.extras, 'warnings and derived values').toEqual([]);
      });
    }
  }
});
