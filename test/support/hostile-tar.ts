/**
 * Hostile bundles, byte by byte: the archives real tools refuse to make (names that climb out,
 * links leading out, devices, bombs) for the tests that show the extractor and the racks refuse
 * them. `hostileBundles` is one catalogue, aimed at a sentinel folder, so the same archives can be
 * pushed through the extractor and through a rack's front door and the sentinel checked after.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import type { BundleRejection } from '../../lib/pipeline/bundle/extract';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { TarEntry } from '../../lib/pipeline/bundle/tar-writer';

export const BLOCK = 512;
const MiB = 1024 * 1024;

export interface RawHeader {
  readonly name: string;
  /** Tar type flag: 0 file, 1 hard link, 2 symlink, 3 char device, 4 block device, 5 directory, 6 fifo, x pax, L GNU long name. */
  readonly type: string;
  readonly size?: number;
  readonly linkname?: string;
  readonly mode?: number;
}

/** One ustar header block, with whatever name and type it is given (the name is cut at 100 bytes). */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  b.write((h.mode ?? 0o644).toString(8).padStart(7, '0'), 100);
  b.write('0000000', 108);
  b.write('0000000', 116);
  b.write((h.size ?? 0).toString(8).padStart(11, '0'), 124);
  b.write('00000000000', 136);
  b.write('        ', 148);
  b.write(h.type, 156);
  b.write(h.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return b;
}

/** Data padded to whole blocks. */
export function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return `${length}${body}`;
}

/** A pax extended header whose records override the next entry's fields (e.g. `path`). */
export function paxHeader(records: Readonly<Record<string, string>>): Buffer {
  const data = Buffer.from(Object.entries(records).map(([k, v]) => paxRecord(k, v)).join(''));
  return Buffer.concat([rawHeader({ name: 'PaxHeader', type: 'x', size: data.length }), padded(data)]);
}

/** A GNU long-name entry: the next entry's real name, whatever its header says. */
export function gnuLongName(name: string): Buffer {
  const data = Buffer.from(`${name}\0`);
  return Buffer.concat([rawHeader({ name: '././@LongLink', type: 'L', size: data.length }), padded(data)]);
}

/** A regular file entry with its body. */
export function fileEntry(name: string, body: string | Buffer): Buffer {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([rawHeader({ name, type: '0', size: data.length }), padded(data)]);
}

/** The end of an archive: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);

/** Entries as a plain (uncompressed) tar, without the end marker, to be followed by more. */
export function tarPrefix(entries: readonly TarEntry[]): Buffer {
  return tarArchive(entries, { gzip: false, end: false });
}

/** One MiB of zeros, compressed, ending in a full flush (so copies of it can follow each other). */
let zeroBlock: Buffer | undefined;

/**
 * A gzip bomb: `prefix` followed by `zeroMiB` MiB of zero bytes, in a stream of about 1 KB per
 * MiB. The zeros are not compressed here (that would take seconds): one compressed MiB, flushed
 * so that the compressor starts afresh, is repeated. It is a second gzip member after the prefix's;
 * its checksum is left zero, so a reader that got to the very end would find it corrupt, but
 * a safe reader stops long before.
 */
export function gzipBomb(prefix: Buffer, zeroMiB: number): Buffer {
  zeroBlock ??= deflateRawSync(Buffer.alloc(MiB), { finishFlush: constants.Z_FULL_FLUSH, level: 9 });
  const block = zeroBlock;
  const last = deflateRawSync(Buffer.alloc(0));
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  return Buffer.concat([gzipSync(prefix), header, ...Array<Buffer>(zeroMiB).fill(block), last, Buffer.alloc(8)]);
}

/** `a/a/a/.../name`, `depth` folders deep. */
export function deepPath(depth: number, name = 'f', segment = 'a'): string {
  return `${Array<string>(depth).fill(segment).join('/')}/${name}`;
}

export const MANIFEST_ENTRY: TarEntry = { name: 'convox.yml', body: 'services:\n  web:\n    build: .\n' };

export interface HostileBundle {
  readonly name: string;
  readonly archive: Buffer;
  readonly reason: BundleRejection;
  /** The entry the refusal names. */
  readonly entry: string;
  /** Words the refusal's message must contain (the rule it broke). */
  readonly rule: RegExp;
}

export interface Aim {
  /** The sentinel folder, relative to the extraction folder (`../../sentinel`). */
  readonly up: string;
  /** The sentinel folder's absolute path. */
  readonly sentinel: string;
  /** An existing file outside the extraction folder that a link must never reach. */
  readonly secret: string;
  /** The secret's path relative to the extraction folder. */
  readonly secretUp: string;
}

/**
 * Every way out of the extraction folder and every bomb we know, each aimed so that an escape
 * would land in the sentinel folder (or link to the secret file), with the refusal it must get.
 */
export function hostileBundles(aim: Aim, options: { gzip?: boolean } = {}): HostileBundle[] {
  const gz = (b: Buffer): Buffer => (options.gzip === false ? b : gzipSync(b));
  const tar = (entries: TarEntry[]): Buffer => tarArchive(entries, { gzip: options.gzip !== false });
  const manifest = tarPrefix([MANIFEST_ENTRY]);
  const deep = deepPath(10_000);
  const longSegment = 'n'.repeat(300);
  return [
    { name: 'a path that climbs out', archive: tar([MANIFEST_ENTRY, { name: `${aim.up}/escaped`, body: 'x' }]), reason: 'parent-traversal', entry: `${aim.up}/escaped`, rule: /climbs out of its folder/ },
    {
      name: 'a climbing path hidden in a pax header',
      archive: gz(Buffer.concat([manifest, paxHeader({ path: `${aim.up}/pax-escaped` }), fileEntry('innocent.txt', 'x'), END])),
      reason: 'parent-traversal',
      entry: `${aim.up}/pax-escaped`,
      rule: /climbs out of its folder/,
    },
    {
      name: 'a climbing path hidden in a GNU long name',
      archive: gz(Buffer.concat([manifest, gnuLongName(`${aim.up}/gnu-escaped`), fileEntry('innocent.txt', 'x'), END])),
      reason: 'parent-traversal',
      entry: `${aim.up}/gnu-escaped`,
      rule: /climbs out of its folder/,
    },
    { name: 'an absolute path', archive: tar([MANIFEST_ENTRY, { name: `${aim.sentinel}/absolute`, body: 'x' }]), reason: 'absolute-path', entry: `${aim.sentinel}/absolute`, rule: /absolute path/ },
    {
      name: 'a symlink out, then a file written through it',
      archive: tar([MANIFEST_ENTRY, { name: 'out', type: '2', linkname: aim.up }, { name: 'out/through-link', body: 'x' }]),
      reason: 'link-escapes',
      entry: 'out',
      rule: /link that points outside/,
    },
    { name: 'an absolute symlink', archive: tar([MANIFEST_ENTRY, { name: 'out', type: '2', linkname: aim.sentinel }]), reason: 'link-escapes', entry: 'out', rule: /link that points outside/ },
    { name: 'convox.yml as a symlink to a file outside', archive: tar([{ name: 'convox.yml', type: '2', linkname: aim.secret }]), reason: 'link-escapes', entry: 'convox.yml', rule: /link that points outside/ },
    { name: 'a hard link to a file outside (absolute)', archive: tar([MANIFEST_ENTRY, { name: 'stolen', type: '1', linkname: aim.secret }]), reason: 'absolute-path', entry: 'stolen', rule: /hard link/ },
    { name: 'a hard link to a file outside (relative)', archive: tar([MANIFEST_ENTRY, { name: 'stolen', type: '1', linkname: aim.secretUp }]), reason: 'parent-traversal', entry: 'stolen', rule: /hard link/ },
    { name: 'a character device', archive: tar([MANIFEST_ENTRY, { name: 'null', type: '3' }]), reason: 'unsupported-entry', entry: 'null', rule: /not a file, folder or link/ },
    { name: 'a block device', archive: tar([MANIFEST_ENTRY, { name: 'disk', type: '4' }]), reason: 'unsupported-entry', entry: 'disk', rule: /not a file, folder or link/ },
    { name: 'a fifo', archive: tar([MANIFEST_ENTRY, { name: 'pipe', type: '6' }]), reason: 'unsupported-entry', entry: 'pipe', rule: /not a file, folder or link/ },
    {
      name: 'a file 10,000 folders deep',
      archive: tar([MANIFEST_ENTRY, { name: deep, body: 'x' }]),
      reason: 'bad-path',
      entry: deep.slice(0, 80),
      rule: /path longer than 1024 characters/,
    },
    {
      name: 'a name longer than a file system allows (300 bytes)',
      archive: tar([MANIFEST_ENTRY, { name: `dir/${longSegment}`, body: 'x' }]),
      reason: 'bad-path',
      entry: `dir/${longSegment}`,
      rule: /longer than 255 bytes/,
    },
    {
      name: 'a convox.yml of 1 GiB (a gzip bomb of 1 MB)',
      archive: gzipBomb(rawHeader({ name: 'convox.yml', type: '0', size: 1024 * MiB }), 1024),
      reason: 'too-large',
      entry: 'convox.yml',
      rule: /convox\.yml is 1073741824 bytes, more than the limit of 1048576 bytes for a manifest/,
    },
    {
      name: 'a convox.yml hard-linked to a 2 MiB file in the bundle',
      archive: tar([{ name: 'big.yml', body: Buffer.alloc(2 * MiB, 0x20) }, { name: 'convox.yml', type: '1', linkname: 'big.yml' }]),
      reason: 'too-large',
      entry: 'convox.yml',
      rule: /more than the limit of 1048576 bytes for a manifest/,
    },
    {
      name: 'a decompression bomb: 3 GiB of zeros in 3 MB',
      archive: gzipBomb(Buffer.concat([manifest, rawHeader({ name: 'bomb.bin', type: '0', size: 3 * 1024 * MiB })]), 3 * 1024),
      reason: 'too-large',
      entry: 'bomb.bin',
      rule: /add up to more than 2147483648 bytes/,
    },
  ];
}

/** Every path under `dir` (relative, with `/` after folders), sorted: a snapshot to compare. */
export function treeSnapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (folder: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const stats = lstatSync(join(folder, name));
      if (stats.isDirectory()) {
        out.push(`${prefix}${name}/`);
        walk(join(folder, name), `${prefix}${name}/`);
      } else out.push(`${prefix}${name}`);
    }
  };
  walk(dir, '');
  return out;
}
