/**
 * Pack an app's folder into a bundle, as `convox deploy` does: every file the folder's
 * `.dockerignore` does not exclude, in a gzipped tar. The archive is deterministic (sorted names,
 * no timestamps or owners), so the same folder packs to the same bytes.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DockerIgnore } from '../build/dockerignore';
import type { TarEntry } from './tar-writer';
import { tarArchive } from './tar-writer';

export async function packDirectory(dir: string): Promise<{ bundle: Buffer; files: number }> {
  const ignore = new DockerIgnore(await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  const entries: TarEntry[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const full = join(folder, name);
      const rel = relative(dir, full).split(sep).join('/');
      const stats = await lstat(full);
      const ignored = ignore.ignores(rel) && rel !== 'convox.yml';
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
