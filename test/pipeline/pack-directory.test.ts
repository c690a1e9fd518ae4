/**
 * Packing an app folder into a bundle (`slipway deploy`): what goes in, in what order, and that the
 * same folder always packs to the same bytes, however its files' reads interleave.
 */
import { chmodSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packDirectory } from '../../lib/pipeline/bundle/pack';
import { fileTrees } from '../support/file-tree';

const tree = fileTrees('slipway-pack-');

/** The names, types and modes in a plain tar archive, in order (pax headers skipped). */
function listing(tgz: Buffer): string[] {
  const tar = gunzipSync(tgz);
  const out: string[] = [];
  let paxName: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const field = (from: number, length: number): string => h.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    const type = field(156, 1);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === 'x') paxName = /\d+ path=(.*)\n/.exec(body.toString('utf8'))?.[1];
    else {
      out.push(`${type} ${field(100, 8)} ${paxName ?? field(0, 100)}${type === '2' ? ` -> ${field(157, 100)}` : ''}`);
      paxName = undefined;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('packing an app folder', () => {
  it('packs what .dockerignore leaves, in name order, keeping links and the executable bit', async () => {
    const long = `deep/${'n'.repeat(120)}.txt`;
    const dir = tree({
      'convox.yml': 'services:\n  web:\n    build: .\n  mail:\n    build: ./services/mail\n',
      '.dockerignore': 'services\nnotes.md\n',
      'b.js': 'b',
      'a.js': 'a',
      'notes.md': 'left out',
      'bin/run': '#!/bin/sh\n',
      'services/mail/server.js': 'packed: another service\u2019s build context',
      [long]: 'long name',
    });
    chmodSync(join(dir, 'bin/run'), 0o755);
    symlinkSync('a.js', join(dir, 'current.js'));
    const { bundle, files } = await packDirectory(dir);
    expect(listing(bundle)).toEqual([
      '0 0000644 .dockerignore',
      '0 0000644 a.js',
      '0 0000644 b.js',
      '0 0000755 bin/run',
      '0 0000644 convox.yml',
      '2 0000644 current.js -> a.js',
      `0 0000644 ${long}`,
      '0 0000644 services/mail/server.js',
    ]);
    expect(files).toBe(8);
  });

  it('packs the same folder to the same bytes every time', async () => {
    const files: Record<string, string> = { 'convox.yml': 'services:\n  web:\n    build: .\n' };
    for (let i = 0; i < 300; i++) files[`src/m${i % 7}/f${i}.js`] = `export const n = ${i};\n`.repeat(1 + (i % 50));
    const dir = tree(files);
    const first = await packDirectory(dir);
    const again = await Promise.all([packDirectory(dir), packDirectory(dir)]);
    for (const other of again) expect(other.bundle.equals(first.bundle)).toBe(true);
    expect(first.files).toBe(301);
  });

  it('fails when a file cannot be read, naming it', async () => {
    const dir = tree({ 'convox.yml': 'services:\n  web:\n    build: .\n', 'a.js': 'a' });
    symlinkSync(join(dir, 'missing'), join(dir, 'z-dangling'));
    // A dangling link is packed as a link (it is the builder's to judge); a folder that vanishes mid-walk is not.
    await expect(packDirectory(dir)).resolves.toMatchObject({ files: 3 });
    await expect(packDirectory(join(dir, 'nowhere'))).rejects.toThrow(/nowhere/);
  });
});
