/**
 * Safe extraction of an app bundle (a gzipped tar, or a plain tar). A bundle comes from whoever
 * can write to the bucket, so it is treated as hostile: it is refused, with the offending entry
 * named, when it would write outside its folder (absolute paths, `..`, a path through a link, a
 * link leading out), holds anything but files, folders and links, or exceeds the size limits.
 * Decompression is bounded as it happens, so a "zip bomb" stops at the limit. A refused bundle
 * leaves nothing behind.
 *
 * The work per entry is bounded too: folders an entry implies count as entries, and a path's
 * folders are checked once, when the first entry inside them is met.
 */
import { createHash } from 'node:crypto';
import { link, mkdir, open, rm, symlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SlipwayError } from '../../errors';
import { MAX_MANIFEST_BYTES } from '../../manifest/limits';

export interface BundleLimits {
  /** Largest bundle accepted, as stored (compressed). */
  readonly maxCompressedBytes: number;
  /** Largest total size of the files in the bundle. */
  readonly maxExtractedBytes: number;
  /** Entries, counting the folders that entries imply (`a/b/c` implies `a` and `a/b`). */
  readonly maxEntries: number;
  readonly maxPathLength: number;
  /** Largest convox.yml accepted; the manifest engine's limit when not given. */
  readonly maxManifestBytes?: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxCompressedBytes: 512 * 1024 * 1024,
  maxExtractedBytes: 2 * 1024 * 1024 * 1024,
  maxEntries: 100_000,
  maxPathLength: 1024,
  maxManifestBytes: MAX_MANIFEST_BYTES,
};

/** The longest name of one file or folder most file systems allow, in bytes. */
const MAX_NAME_BYTES = 255;

/** File system errors an entry's name or shape can cause: the bundle's fault, not the rack's. */
const ENTRY_ERRORS = new Set(['ENAMETOOLONG', 'EMLINK', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EINVAL', 'EILSEQ']);

export type BundleRejection =
  | 'not-an-archive'
  | 'corrupt'
  | 'too-large'
  | 'too-many-entries'
  | 'absolute-path'
  | 'parent-traversal'
  | 'bad-path'
  | 'path-through-link'
  | 'link-escapes'
  | 'bad-hardlink'
  | 'unsupported-entry'
  | 'duplicate-entry'
  | 'no-manifest';

/** The bundle was refused; nothing of it was kept. */
export class BundleRejectedError extends SlipwayError {
  constructor(
    readonly reason: BundleRejection,
    message: string,
    readonly entry?: string,
  ) {
    super(message, 'BUNDLE_REJECTED', { reason, ...(entry !== undefined ? { entry } : {}) });
  }
}

export interface ExtractedBundle {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  /** SHA-256 of the bundle as stored. */
  readonly sha256: string;
}

const BLOCK = 512;

interface Header {
  name: string;
  mode: number;
  size: number;
  type: string;
  linkname: string;
}

function text(block: Buffer, start: number, length: number): string {
  const slice = block.subarray(start, start + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end < 0 ? slice.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, field: string): number {
  const raw = block.subarray(start, start + length);
  if (((raw[0] ?? 0) & 0x80) !== 0) {
    // Base-256 (GNU) for values too large for octal: only sizes beyond every limit use it.
    let value = 0;
    for (let i = 1; i < raw.length; i++) value = value * 256 + (raw[i] ?? 0);
    return value;
  }
  const digits = text(block, start, length).trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new BundleRejectedError('corrupt', `the bundle is not a valid tar archive (bad ${field} field)`);
  return parseInt(digits, 8);
}

function parseHeader(block: Buffer): Header {
  const stored = octal(block, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  if (sum !== stored) throw new BundleRejectedError('corrupt', 'the bundle is not a valid tar archive (header checksum mismatch)');
  const ustar = text(block, 257, 6).startsWith('ustar');
  const prefix = ustar ? text(block, 345, 155) : '';
  const name = text(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode: octal(block, 100, 8, 'mode'),
    size: octal(block, 124, 12, 'size'),
    type: String.fromCharCode(block[156] ?? 0),
    linkname: text(block, 157, 100),
  };
}

/** `len key=value\n` records of a pax extended header. */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.subarray(at, space).toString('utf8'));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) throw new BundleRejectedError('corrupt', 'the bundle is not a valid tar archive (bad pax header)');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return out;
}

/** Split an archive path into safe segments, or refuse it. */
function segmentsOf(path: string, limits: BundleLimits): string[] {
  if (path.includes('\0')) throw new BundleRejectedError('bad-path', `the bundle has an entry whose name contains a NUL byte`, path);
  if (path.length > limits.maxPathLength) throw new BundleRejectedError('bad-path', `the bundle has a path longer than ${limits.maxPathLength} characters: ${path.slice(0, 80)}...`, path.slice(0, 80));
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw new BundleRejectedError('absolute-path', `the bundle has an absolute path: ${path}`, path);
  if (path.includes('\\')) throw new BundleRejectedError('bad-path', `the bundle has a path with a backslash: ${path}`, path);
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new BundleRejectedError('parent-traversal', `the bundle has a path that climbs out of its folder: ${path}`, path);
  // Refused here, named, rather than failing the write with ENAMETOOLONG.
  if (segments.some((s) => Buffer.byteLength(s) > MAX_NAME_BYTES)) throw new BundleRejectedError('bad-path', `the bundle has a file or folder name longer than ${MAX_NAME_BYTES} bytes: ${path}`, path);
  return segments;
}

/**
 * A symlink may point only at something inside the bundle: a relative target that may climb
 * (`../x`) but never climbs again after descending (`a/../x` could climb out through a link `a`).
 */
function checkLinkTarget(entry: string[], target: string, name: string): void {
  if (target === '' || target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\') || target.includes('\0')) {
    throw new BundleRejectedError('link-escapes', `the bundle has a link that points outside it: ${name} -> ${target}`, name);
  }
  const parts = target.split('/').filter((s) => s !== '' && s !== '.');
  let depth = entry.length - 1;
  let descended = false;
  for (const part of parts) {
    if (part === '..') {
      if (descended || depth === 0) throw new BundleRejectedError('link-escapes', `the bundle has a link that points outside it: ${name} -> ${target}`, name);
      depth--;
    } else {
      descended = true;
    }
  }
}

/** Counts and hashes the stored bytes, failing past the compressed size limit. */
async function* meter(source: AsyncIterable<Buffer>, limit: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw new BundleRejectedError('too-large', `the bundle is larger than ${limit} bytes`);
    hash.update(chunk);
    yield chunk;
  }
}

/** The archive's bytes, gunzipped when the bundle is gzip, with decompression stopped past the limit. */
async function* archiveBytes(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new BundleRejectedError('not-an-archive', 'the bundle is empty');
  const head = first.value;
  const rest = (async function* () {
    yield head;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  })();
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* rest;
    return;
  }
  const gunzip = createGunzip();
  const input = Readable.from(rest);
  // A failure upstream (such as the size limit) ends decompression with that failure.
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  let produced = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      produced += chunk.length;
      if (produced > limit) throw new BundleRejectedError('too-large', `the bundle expands to more than ${limit} bytes`);
      yield chunk;
    }
  } catch (e) {
    if (e instanceof BundleRejectedError) throw e;
    throw new BundleRejectedError('corrupt', `the bundle is not a valid gzip file (${(e as NodeJS.ErrnoException).code ?? 'corrupt data'})`);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/** Reads exact byte counts from a chunk stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Up to `n` bytes; fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n) {
      const r = await this.source.next();
      if (r.done) break;
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Pass over `n` bytes chunk by chunk, never holding them all; false if the stream ends first. */
  async skip(n: number): Promise<boolean> {
    for (let left = n; left > 0; ) {
      if (this.buffered === 0) {
        const r = await this.source.next();
        if (r.done) return false;
        this.chunks = [r.value];
        this.buffered = r.value.length;
      }
      const first = this.chunks[0] as Buffer;
      if (first.length <= left) {
        this.chunks.shift();
        this.buffered -= first.length;
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        this.buffered -= left;
        left = 0;
      }
    }
    return true;
  }
}

export async function extractBundle(source: Readable | AsyncIterable<Buffer>, dest: string, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<ExtractedBundle> {
  await mkdir(dest, { recursive: false });
  const hash = createHash('sha256');
  try {
    const stats = await extractInto(meter(source as AsyncIterable<Buffer>, limits.maxCompressedBytes, hash), dest, limits);
    return { dir: dest, ...stats, sha256: hash.digest('hex') };
  } catch (e) {
    await rm(dest, { recursive: true, force: true });
    throw e;
  }
}

async function extractInto(source: AsyncIterable<Buffer>, dest: string, limits: BundleLimits): Promise<{ files: number; bytes: number }> {
  const overhead = (limits.maxEntries + 2) * BLOCK * 3;
  const reader = new ByteReader(archiveBytes(source, limits.maxExtractedBytes + overhead)[Symbol.asyncIterator]());
  const kinds = new Map<string, 'dir' | 'file' | 'link'>();
  /** Sizes of the files extracted, so that a hard link's size is known. */
  const sizes = new Map<string, number>();
  let entries = 0;
  let files = 0;
  let bytes = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;

  const readBody = async (size: number): Promise<Buffer> => {
    const body = await reader.read(size);
    if (body.length < size) throw new BundleRejectedError('corrupt', 'the bundle ends in the middle of an entry');
    await reader.read((BLOCK - (size % BLOCK)) % BLOCK);
    return body;
  };

  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0 && entries === 0) throw new BundleRejectedError('not-an-archive', 'the bundle is not a tar archive');
    if (block.length < BLOCK) throw new BundleRejectedError('corrupt', 'the bundle ends without a tar end marker');
    if (block.every((b) => b === 0)) break;
    const header = parseHeader(block);

    // Metadata entries describe the next real entry.
    if (header.type === 'x' || header.type === 'g' || header.type === 'L' || header.type === 'K') {
      if (header.size > 1024 * 1024) throw new BundleRejectedError('corrupt', 'the bundle has an oversized tar metadata entry');
      const data = await readBody(header.size);
      if (header.type === 'x') pax = parsePax(data);
      else if (header.type === 'L') longName = text(data, 0, data.length);
      else if (header.type === 'K') longLink = text(data, 0, data.length);
      continue;
    }

    const name = pax.get('path') ?? longName ?? header.name;
    const linkname = pax.get('linkpath') ?? longLink ?? header.linkname;
    const size = pax.has('size') ? Number(pax.get('size')) : header.size;
    pax = new Map();
    longName = undefined;
    longLink = undefined;

    const segments = segmentsOf(name, limits);
    const path = segments.join('/');
    const target = join(dest, ...segments);

    // The folders this entry needs that no earlier entry made. A folder already made had all of
    // its own folders checked then, so the walk up stops there: each folder is checked once.
    const newFolders: string[] = [];
    for (let parent = path.slice(0, Math.max(0, path.lastIndexOf('/'))); parent !== ''; parent = parent.slice(0, Math.max(0, parent.lastIndexOf('/')))) {
      const kind = kinds.get(parent);
      if (kind === 'dir') break;
      if (kind === 'link') throw new BundleRejectedError('path-through-link', `the bundle writes through a link: ${name}`, name);
      if (kind === 'file') throw new BundleRejectedError('bad-path', `the bundle puts ${name} inside the file ${parent}`, name);
      newFolders.push(parent);
    }
    // Implied folders count as entries: a few deep paths must not create millions of folders.
    entries += 1 + newFolders.length;
    if (entries > limits.maxEntries) throw new BundleRejectedError('too-many-entries', `the bundle has more than ${limits.maxEntries} entries (counting the folders they imply), at ${name}`, name);
    const makeParent = async (): Promise<void> => {
      if (newFolders.length === 0) return;
      await mkdir(join(dest, ...segments.slice(0, -1)), { recursive: true, mode: 0o755 });
      for (const folder of newFolders) kinds.set(folder, 'dir');
    };

    try {
      switch (header.type) {
        case '5': {
          // A folder's body means nothing; it may be as large as the limits allow, so it is not buffered.
          if (size > 0 && !(await reader.skip(size + ((BLOCK - (size % BLOCK)) % BLOCK)))) throw new BundleRejectedError('corrupt', 'the bundle ends in the middle of an entry', name);
          if (path === '') continue;
          const existing = kinds.get(path);
          if (existing !== undefined && existing !== 'dir') throw new BundleRejectedError('duplicate-entry', `the bundle has ${name} twice`, name);
          if (existing === 'dir') continue;
          await makeParent();
          await mkdir(target, { mode: 0o755 });
          kinds.set(path, 'dir');
          break;
        }
        case '0':
        case '\0':
        case '7': {
          if (path === '' || kinds.has(path)) throw new BundleRejectedError('duplicate-entry', `the bundle has ${name} twice`, name);
          if (!Number.isSafeInteger(size) || size < 0) throw new BundleRejectedError('corrupt', `the bundle has a bad size for ${name}`, name);
          checkManifestSize(path, size, limits, name);
          bytes += size;
          if (bytes > limits.maxExtractedBytes) throw new BundleRejectedError('too-large', `the bundle's files add up to more than ${limits.maxExtractedBytes} bytes, at ${name}`, name);
          await makeParent();
          kinds.set(path, 'file');
          sizes.set(path, size);
          await writeFile(target, size, (header.mode & 0o111) !== 0 ? 0o755 : 0o644, reader, name);
          files++;
          break;
        }
        case '2': {
          if (path === '' || kinds.has(path)) throw new BundleRejectedError('duplicate-entry', `the bundle has ${name} twice`, name);
          checkLinkTarget(segments, linkname, name);
          await makeParent();
          await symlink(linkname, target);
          kinds.set(path, 'link');
          break;
        }
        case '1': {
          if (path === '' || kinds.has(path)) throw new BundleRejectedError('duplicate-entry', `the bundle has ${name} twice`, name);
          let source: string;
          try {
            source = segmentsOf(linkname, limits).join('/');
          } catch (e) {
            if (!(e instanceof BundleRejectedError)) throw e;
            throw new BundleRejectedError(e.reason, `the bundle has a hard link that points outside it: ${name} -> ${linkname}`, name);
          }
          if (kinds.get(source) !== 'file') throw new BundleRejectedError('bad-hardlink', `the bundle has a hard link to something that is not an earlier file in it: ${name} -> ${linkname}`, name);
          // A link shares its file's content: a convox.yml linked to a large file is a large convox.yml.
          checkManifestSize(path, sizes.get(source) ?? 0, limits, name);
          await makeParent();
          await link(join(dest, ...source.split('/')), target);
          kinds.set(path, 'file');
          sizes.set(path, sizes.get(source) ?? 0);
          files++;
          break;
        }
        default:
          throw new BundleRejectedError('unsupported-entry', `the bundle has an entry that is not a file, folder or link (type ${JSON.stringify(header.type)}): ${name}`, name);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!(e instanceof BundleRejectedError) && code !== undefined && ENTRY_ERRORS.has(code)) {
        throw new BundleRejectedError('bad-path', `the bundle has an entry this machine cannot create (${code}): ${name}`, name);
      }
      throw e;
    }
  }
  if (kinds.get('convox.yml') !== 'file') throw new BundleRejectedError('no-manifest', 'the bundle has no convox.yml at its root');
  return { files, bytes };
}

/** convox.yml is read whole and parsed: one larger than the manifest engine reads is refused before it is written. */
function checkManifestSize(path: string, size: number, limits: BundleLimits, name: string): void {
  const max = limits.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  if (path === 'convox.yml' && size > max) {
    throw new BundleRejectedError('too-large', `the bundle's convox.yml is ${size} bytes, more than the limit of ${max} bytes for a manifest`, name);
  }
}

async function writeFile(path: string, size: number, mode: number, reader: ByteReader, name: string): Promise<void> {
  // 'wx' never follows or reuses an existing path.
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'wx', mode);
    let left = size;
    while (left > 0) {
      const chunk = await reader.read(Math.min(left, 1024 * 1024));
      if (chunk.length === 0) throw new BundleRejectedError('corrupt', `the bundle ends in the middle of ${name}`, name);
      await handle.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await handle?.close();
  }
  await reader.read((BLOCK - (size % BLOCK)) % BLOCK);
}
