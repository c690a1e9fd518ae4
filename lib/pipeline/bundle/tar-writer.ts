/**
 * Writes tar archives byte by byte: the bundles `slipway deploy` packs (deterministic: sorted, no
 * timestamps or owners), and in tests the hostile bundles real tools refuse to make.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  readonly name: string;
  /** Tar type flag: 0 file, 1 hard link, 2 symlink, 3 char device, 5 directory, 6 fifo. */
  readonly type?: string;
  readonly body?: string | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
  /** Declared size when it should differ from the body (a lying header). */
  readonly size?: number;
}

function header(name: string, type: string, size: number, linkname: string, mode: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(mode.toString(8).padStart(7, '0'), 100);
  h.write('0000000', 108);
  h.write('0000000', 116);
  h.write(size.toString(8).padStart(11, '0'), 124);
  h.write('00000000000', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname.slice(0, 100), 157);
  h.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return h;
}

function pad(b: Buffer): Buffer {
  const extra = (512 - (b.length % 512)) % 512;
  return Buffer.concat([b, Buffer.alloc(extra)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return `${length}${body}`;
}

/** One entry's blocks: a pax header when a name is too long for the ustar fields, its header, its padded body. */
export function tarEntryBlocks(e: TarEntry): Buffer[] {
  const parts: Buffer[] = [];
  const body = Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body ?? '');
  const type = e.type ?? '0';
  if (e.name.length > 100 || (e.linkname ?? '').length > 100) {
    const pax = Buffer.from(paxRecord('path', e.name) + (e.linkname ? paxRecord('linkpath', e.linkname) : ''));
    parts.push(header('PaxHeader', 'x', pax.length, '', 0o644), pad(pax));
  }
  parts.push(header(e.name, type, e.size ?? (type === '0' ? body.length : 0), e.linkname ?? '', e.mode ?? (type === '5' ? 0o755 : 0o644)));
  if (type === '0' && body.length > 0) parts.push(pad(body));
  return parts;
}

/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

export function tarArchive(entries: readonly TarEntry[], options: { gzip?: boolean; end?: boolean } = {}): Buffer {
  const parts = entries.flatMap(tarEntryBlocks);
  if (options.end !== false) parts.push(TAR_END);
  const archive = Buffer.concat(parts);
  return options.gzip === false ? archive : gzipSync(archive);
}
