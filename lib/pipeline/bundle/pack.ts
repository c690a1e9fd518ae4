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
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cleanPath, DockerIgnore } from '../build/dockerignore';
import type { TarEntry } from './tar-writer';
import { tarArchive } from './tar-writer';

export async function packDirectory(dir: string): Promise<{ bundle: Buffer; files: number }> {
  const ignore = new DockerIgnore(await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  const contexts = await buildContexts(dir);
  const inContext = (rel: string): boolean => contexts.some((c) => rel === c || rel.startsWith(`${c}/`));
  const entries: TarEntry[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const full = join(folder, name);
      const rel = relative(dir, full).split(sep).join('/');
      const stats = await lstat(full);
      const ignored = ignore.ignores(rel) && rel !== 'convox.yml' && !inContext(rel);
      if (stats.isDirectory()) {
        if (!ignored || ignore.hasExclusions) await walk(full);
      } else if (ignored) continue;
      else if (stats.isSymbolicLink()) entries.push({ name: rel, type: '2', linkname: await readlink(full) });
      else if (stats.isFile()) entries.push({ name: rel, body: await readFile(full), mode: stats.mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  await walk(dir);
  return { bundle: tarArchive(entries), files: entries.length };
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
