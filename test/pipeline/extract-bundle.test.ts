/**
 * Bundles are hostile input: every way out of the extraction folder is refused with the entry
 * named, sizes are bounded while decompressing, and a refused bundle leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BundleRejectedError, DEFAULT_BUNDLE_LIMITS, extractBundle } from '../../lib/pipeline/bundle/extract';
import type { BundleRejection } from '../../lib/pipeline/bundle/extract';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { TarEntry } from '../../lib/pipeline/bundle/tar-writer';

const root = mkdtempSync(join(tmpdir(), 'slipway-bundle-'));
let n = 0;
const fresh = (): string => join(root, `out-${n++}`);
const manifest: TarEntry = { name: 'convox.yml', body: 'services:\n  web:\n    build: .\n' };

async function rejection(archive: Buffer, limits = DEFAULT_BUNDLE_LIMITS): Promise<{ error: BundleRejectedError; dest: string }> {
  const dest = fresh();
  try {
    await extractBundle(Readable.from([archive]), dest, limits);
  } catch (e) {
    if (e instanceof BundleRejectedError) return { error: e, dest };
    throw e;
  }
  throw new Error('expected the bundle to be refused');
}

async function expectRefused(entries: TarEntry[], reason: BundleRejection, entry?: string): Promise<void> {
  const { error, dest } = await rejection(tarArchive(entries));
  expect(error.reason).toBe(reason);
  if (entry !== undefined) expect(error.entry).toBe(entry);
  expect(existsSync(dest), 'a refused bundle leaves nothing behind').toBe(false);
  expect(existsSync(join(root, 'escaped'))).toBe(false);
}

describe('extracting a bundle', () => {
  it('extracts a bundle made by GNU tar, keeping files, folders, modes and inner links', async () => {
    const app = join(root, 'app');
    mkdirSync(join(app, 'bin'), { recursive: true });
    writeFileSync(join(app, 'convox.yml'), 'services:\n  web:\n    build: .\n');
    writeFileSync(join(app, 'bin/start'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    writeFileSync(join(app, 'README.md'), 'hello');
    symlinkSync('README.md', join(app, 'readme'));
    const archive = execFileSync('tar', ['-czf', '-', '-C', app, '.']);
    const dest = fresh();
    const out = await extractBundle(Readable.from([archive]), dest);
    expect(out.files).toBe(3);
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dest, 'convox.yml'), 'utf8')).toContain('services:');
    expect(lstatSync(join(dest, 'bin/start')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dest, 'readme'))).toBe('README.md');
  });

  it('reads long names from pax headers and accepts plain (uncompressed) tar', async () => {
    const long = `${'d'.repeat(120)}/file.txt`;
    const dest = fresh();
    await extractBundle(Readable.from([tarArchive([manifest, { name: long, body: 'x' }], { gzip: false })]), dest);
    expect(readFileSync(join(dest, long), 'utf8')).toBe('x');
  });

  it('accepts links that stay inside the bundle', async () => {
    const dest = fresh();
    await extractBundle(
      Readable.from([
        tarArchive([manifest, { name: 'a/b/file', body: 'x' }, { name: 'a/b/up', type: '2', linkname: '../../convox.yml' }, { name: 'copy', type: '1', linkname: 'a/b/file' }]),
      ]),
      dest,
    );
    expect(readFileSync(join(dest, 'a/b/up'), 'utf8')).toContain('services');
    expect(readFileSync(join(dest, 'copy'), 'utf8')).toBe('x');
  });

  it('refuses absolute paths', () => expectRefused([manifest, { name: '/etc/escaped', body: 'x' }], 'absolute-path', '/etc/escaped'));
  it('refuses paths that climb out', () => expectRefused([manifest, { name: 'a/../../escaped', body: 'x' }], 'parent-traversal', 'a/../../escaped'));
  it('refuses a symlink pointing outside', () => expectRefused([manifest, { name: 'out', type: '2', linkname: '../escaped' }], 'link-escapes', 'out'));
  it('refuses an absolute symlink', () => expectRefused([manifest, { name: 'out', type: '2', linkname: '/etc/passwd' }], 'link-escapes', 'out'));
  it('refuses a symlink that climbs after descending through another link', () =>
    expectRefused([manifest, { name: 'here', type: '2', linkname: '.' }, { name: 'out', type: '2', linkname: 'here/..' }], 'link-escapes', 'out'));
  it('refuses writing through a symlink', () =>
    expectRefused([manifest, { name: 'dir', type: '2', linkname: '.' }, { name: 'dir/escaped', body: 'x' }], 'path-through-link', 'dir/escaped'));
  it('refuses a hard link to a file outside', () => expectRefused([manifest, { name: 'h', type: '1', linkname: '../escaped' }], 'parent-traversal'));
  it('refuses a hard link to something not extracted before it', () => expectRefused([manifest, { name: 'h', type: '1', linkname: 'later' }], 'bad-hardlink', 'h'));
  it('refuses device files and fifos', async () => {
    await expectRefused([manifest, { name: 'dev', type: '3' }], 'unsupported-entry', 'dev');
    await expectRefused([manifest, { name: 'pipe', type: '6' }], 'unsupported-entry', 'pipe');
  });
  it('refuses an entry that replaces an earlier one', () =>
    expectRefused([manifest, { name: 'x', type: '2', linkname: 'convox.yml' }, { name: 'x', body: 'overwrite through the link' }], 'duplicate-entry', 'x'));
  it('refuses a bundle without convox.yml at its root', () => expectRefused([{ name: 'app/convox.yml', body: 'x' }], 'no-manifest'));

  it('bounds decompression: a gzip bomb is refused at the limit, not inflated', async () => {
    const bomb = tarArchive([manifest, { name: 'bomb.bin', body: Buffer.alloc(64 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const { error, dest } = await rejection(bomb, { ...DEFAULT_BUNDLE_LIMITS, maxExtractedBytes: 4 * 1024 * 1024 });
    expect(error.reason).toBe('too-large');
    expect(error.entry).toBe('bomb.bin');
    expect(existsSync(dest)).toBe(false);
  });

  it('stops reading at the end of the archive, whatever follows it', async () => {
    const trailing = gzipSync(Buffer.concat([tarArchive([manifest], { gzip: false }), Buffer.alloc(64 * 1024 * 1024, 1)]));
    const out = await extractBundle(Readable.from([trailing]), fresh(), { ...DEFAULT_BUNDLE_LIMITS, maxExtractedBytes: 1024 * 1024 });
    expect(out.files).toBe(1);
  });

  it('refuses files that add up to more than the limit, before writing them', async () => {
    const big: TarEntry = { name: 'big.bin', body: Buffer.alloc(2048) };
    const { error } = await rejection(tarArchive([manifest, big]), { ...DEFAULT_BUNDLE_LIMITS, maxExtractedBytes: 1024 });
    expect(error.reason).toBe('too-large');
    expect(error.entry).toBe('big.bin');
  });

  it('refuses a bundle over the stored size limit', async () => {
    const { error } = await rejection(tarArchive([manifest, { name: 'r', body: randomBytes(50_000) }]), { ...DEFAULT_BUNDLE_LIMITS, maxCompressedBytes: 1000 });
    expect(error.reason).toBe('too-large');
  });

  it('refuses too many entries', async () => {
    const entries = [manifest, ...Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: 'x' }))];
    const { error } = await rejection(tarArchive(entries), { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 10 });
    expect(error.reason).toBe('too-many-entries');
  });

  it('refuses truncated and corrupt archives', async () => {
    const good = tarArchive([manifest, { name: 'f', body: 'hello' }], { gzip: false });
    expect((await rejection(gzipSync(good.subarray(0, 700)))).error.reason).toBe('corrupt');
    const tampered = Buffer.from(good);
    tampered[10] = 0x41;
    expect((await rejection(tampered)).error.reason).toBe('corrupt');
    expect((await rejection(Buffer.from('not a bundle at all'))).error.reason).toBe('corrupt');
    expect((await rejection(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage')]))).error.reason).toBe('corrupt');
  });

  it('never leaves partial output, and never touched anything outside its folder', () => {
    expect(readdirSync(root).filter((f) => f === 'escaped')).toEqual([]);
  });
});
