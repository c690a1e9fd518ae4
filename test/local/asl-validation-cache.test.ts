/**
 * The local rack remembers, in its state folder, which machine definitions passed asl-validator,
 * so that a restart (after a crash, say) does not check them again: only a definition that passed
 * is remembered, by a digest that changes with the definition.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { definitionDigest, validateDefinition, ValidatedDefinitionsFile } from '../../lib/local/asl-runner';
import type { AslDefinition } from '../../lib/pipeline/machines/template';

const definition = (next: string): AslDefinition => ({
  StartAt: 'Plan',
  States: {
    Plan: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:steps', Parameters: { step: 'plan', 'input.$': '$' }, Next: next },
    Done: { Type: 'Succeed' },
  },
});

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const fileIn = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'slipway-validated-'));
  folders.push(folder);
  return join(folder, 'machines.validated.json');
};

describe('definitions remembered as valid', () => {
  it('remembers a definition that passed, in a file the next start reads', () => {
    const file = fileIn();
    const good = definition('Done');
    validateDefinition('Deploy', good, new ValidatedDefinitionsFile(file));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([definitionDigest(good)]);
    expect(new ValidatedDefinitionsFile(file).has(definitionDigest(good))).toBe(true);
  });

  it('never remembers one that failed, and checks a changed definition again', () => {
    const file = fileIn();
    const remembered = new ValidatedDefinitionsFile(file);
    validateDefinition('Deploy', definition('Done'), remembered);
    const broken = definition('Nowhere');
    expect(definitionDigest(broken)).not.toBe(definitionDigest(definition('Done')));
    expect(() => validateDefinition('Deploy', broken, remembered)).toThrow(/not valid ASL/);
    expect(remembered.has(definitionDigest(broken))).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([definitionDigest(definition('Done'))]);
  });

  it('takes a damaged file for an empty one: everything is checked', () => {
    const file = fileIn();
    writeFileSync(file, '["cut sho');
    const remembered = new ValidatedDefinitionsFile(file);
    expect(remembered.has(definitionDigest(definition('Done')))).toBe(false);
    expect(() => validateDefinition('Deploy', definition('Nowhere'), remembered)).toThrow(/not valid ASL/);
  });
});
