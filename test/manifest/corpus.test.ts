/**
 * Our own regression corpus: several hundred hand-written manifests (valid ones, type slips,
 * rule violations), each with the result Convox's parser gives for it, recorded in
 * test/fixtures/corpus/expected.json. See test/fixtures/corpus/README.md.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithConvox, runLikeConvox } from '../support/convox-result';
import type { ConvoxResult } from '../support/convox-result';
import { FIXTURES } from '../support/paths';

const dir = join(FIXTURES, 'corpus');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, ConvoxResult>;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yml'))
  .sort();

describe('regression corpus against Convox\u2019s recorded results', () => {
  it('has a recorded result for every manifest', () => {
    expect(files.length).toBeGreaterThan(400);
    expect(files.filter((f) => !(f in expected))).toEqual([]);
  });

  for (const file of files) {
    it(file, () => {
      const envFile = join(dir, file.replace(/\.yml$/, '.env.json'));
      const env = existsSync(envFile) ? (JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>) : {};
      const theirs = expected[file] as ConvoxResult;
      const diff = compareWithConvox(runLikeConvox(readFileSync(join(dir, file), 'utf8'), env, file), theirs);
      expect(diff.outcome, 'load/validate outcome').toEqual([]);
      expect(diff.fields, 'normalised manifest').toEqual([]);
      expect(diff.extras, 'warnings and derived values').toEqual([]);
    });
  }
});
