/**
 * Pack an app's folder into a bundle, as `convox deploy` does: every file the folder's
 * `.dockerignore` does not exclude, in a gzipped tar. The archive is deterministic (sorted names,
 * no timestamps or owners), so the same folder packs to the same bytes.
 *
 * One difference from Convox: the root `.dockerignore` belongs to the root service's build
 * context, and a monolith that keeps its extracted services in sub-folders excludes them there
 * so that a change to a service does not rebuild the monolith. Those folders are other services'
 * build contexts (`build: ./services/email`): they are packed anyway, and their own
 * `.dockerignore` files apply when they are built.
 */
import { lstat as lstatCallback, readFile as readFileCallback } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { cleanPath, DockerIgnore } from '../build/dockerignore';
import type { TarEntry } from './tar-writer';
import { TAR_END, tarEntryBlocks } from './tar-writer';

/** Files read at once: enough to keep the disk and the thread pool busy, few enough to stay far from the open-files limit. */
const READ_CONCURRENCY = 32;
const WRITE_CHUNK_BYTES = 1024 * 1024;
// The callback forms, promisified: on Node 20 fs/promises' readFile makes a promise round trip per
// open, fstat, read and close, which for thousands of small files costs more than the reading.
const readWholeFile = promisify(readFileCallback);
const lstatFile = promisify(lstatCallback);

export async function packDirectory(dir: string): Promise<{ bundle: Buffer; files: number }> {
  const ignore = new DockerIgnore(await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  const contexts = await buildContexts(dir);
  const inContext = (rel: string): boolean => contexts.some((c) => rel === c || rel.startsWith(`${c}/`));
  const holdsContext = (rel: string): boolean => contexts.some((c) => c.startsWith(`${rel}/`));
  // First the names, in archive order (the folder entries tell files, links and folders apart
  // without a stat each); then the contents, many read at once, written in that order.
  const found: { rel: string; full: string; link: boolean }[] = [];
  const walk = async (folder: string): Promise<void> => {
    const names = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of names) {
      const full = join(folder, entry.name);
      const rel = relative(dir, full).split(sep).join('/');
      const ignored = ignore.ignores(rel) && rel !== 'convox.yml' && !inContext(rel);
      if (entry.isDirectory()) {
        // An ignored folder is still walked for what a `!` pattern brings back, and for the other services' build contexts it holds.
        if (!ignored || ignore.hasExclusions || holdsContext(rel)) await walk(full);
      } else if (!ignored && (entry.isFile() || entry.isSymbolicLink())) found.push({ rel, full, link: entry.isSymbolicLink() });
    }
  };
  await walk(dir);
  // Compressed as it is read, on the thread pool: gzip and the reads overlap, as tar piped into
  // gzip would, and the main thread stays free for the CLI's progress.
  const gz = createGzip();
  const chunks: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => gz.once('end', resolve).once('error', reject));
  // Blocks go to gzip a megabyte at a time: each write is a trip to the thread pool, and most files are small.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    const chunk = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    if (!gz.write(chunk)) await new Promise((resolve) => gz.once('drain', resolve));
  };
  const write = async (blocks: readonly Buffer[]): Promise<void> => {
    for (const block of blocks) {
      pending.push(block);
      pendingBytes += block.length;
    }
    if (pendingBytes >= WRITE_CHUNK_BYTES) await flush();
  };
  const read = semaphore(READ_CONCURRENCY);
  const entries = found.map(({ rel, full, link }) =>
    read(async (): Promise<TarEntry> => {
      if (link) return { name: rel, type: '2', linkname: await readlink(full) };
      const [stats, body] = await Promise.all([lstatFile(full), readWholeFile(full)]);
      return { name: rel, body, mode: stats.mode & 0o111 ? 0o755 : 0o644 };
    }),
  );
  // Every read is settled before this returns, even when one fails, so none outlives the call.
  const settled = Promise.allSettled(entries);
  try {
    for (const entry of entries) await write(tarEntryBlocks(await entry));
  } catch (e) {
    await settled;
    gz.destroy();
    throw e;
  }
  pending.push(TAR_END);
  gz.end(Buffer.concat(pending));
  await done;
  return { bundle: Buffer.concat(chunks), files: entries.length };
}

/** At most `limit` of the functions it is given run at once; the rest wait their turn, in order. */
function semaphore(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finishing function hands its slot straight to the next in line, so none can jump the queue.
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * The build paths of the services in the folder's convox.yml, other than the root; none when it
 * cannot be read. Read from the YAML alone: the app environment, which a full load needs, is the
 * rack's, not the packer's.
 */
async function buildContexts(dir: string): Promise<string[]> {
  try {
    const doc = parseYaml(await readFile(join(dir, 'convox.yml'), 'utf8')) as { services?: Record<string, { build?: string | { path?: string } } | null> } | null;
    const paths = Object.values(doc?.services ?? {}).map((s) => (typeof s?.build === 'string' ? s.build : (s?.build?.path ?? '.')));
    return [...new Set(paths.map(cleanPath).filter((p) => p !== ''))];
  } catch {
    return [];
  }
}
