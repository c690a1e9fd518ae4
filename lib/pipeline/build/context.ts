/**
 * The content hash of a service's build context: what Docker would send to the builder (the
 * folder less what .dockerignore leaves out, links as links), plus the Dockerfile and the build
 * settings. An unchanged hash means the image from the last build can be reused.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { SlipwayError } from '../../errors';
import { cleanPath, DockerIgnore } from './dockerignore';

export class BuildContextError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>) {
    super(message, 'BUILD_CONTEXT_INVALID', context);
  }
}

export interface BuildSettings {
  /** The service's build.path, relative to the bundle root. */
  readonly path: string;
  /** The Dockerfile, relative to the build path. */
  readonly manifest: string;
  readonly args: readonly string[];
}

export interface ContextHash {
  readonly hash: string;
  readonly files: number;
  readonly bytes: number;
  /** The build context folder. */
  readonly dir: string;
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Resolve a build path inside the bundle; a context outside it is refused. */
export async function contextDir(bundleDir: string, buildPath: string): Promise<string> {
  const cleaned = buildPath.split('/').filter((p) => p !== '' && p !== '.');
  if (buildPath.startsWith('/') || cleaned.includes('..')) {
    throw new BuildContextError(`build path ${JSON.stringify(buildPath)} leaves the bundle; it must be a folder inside it`, { path: buildPath });
  }
  const dir = join(bundleDir, ...cleaned);
  const [real, root] = await Promise.all([realpath(dir).catch(() => undefined), realpath(bundleDir)]);
  if (real === undefined) throw new BuildContextError(`build path ${JSON.stringify(buildPath)} does not exist in the bundle`, { path: buildPath });
  if (real !== root && !real.startsWith(root + sep)) throw new BuildContextError(`build path ${JSON.stringify(buildPath)} leads outside the bundle through a link`, { path: buildPath });
  const stats = await lstat(real);
  if (!stats.isDirectory()) throw new BuildContextError(`build path ${JSON.stringify(buildPath)} is not a folder`, { path: buildPath });
  return real;
}

export async function hashBuildContext(bundleDir: string, settings: BuildSettings): Promise<ContextHash> {
  const dir = await contextDir(bundleDir, settings.path);
  const dockerfile = cleanPath(settings.manifest);
  const dockerfileStats = await lstat(join(dir, dockerfile)).catch(() => undefined);
  if (!dockerfileStats?.isFile()) {
    throw new BuildContextError(`${settings.manifest} not found in build path ${JSON.stringify(settings.path)}`, { path: settings.path, manifest: settings.manifest });
  }
  const ignore = new DockerIgnore(await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  const entries: string[] = [];
  let files = 0;
  let bytes = 0;
  const walk = async (folder: string): Promise<void> => {
    const names = (await readdir(folder)).sort();
    for (const name of names) {
      const full = join(folder, name);
      const rel = relative(dir, full).split(sep).join('/');
      const stats = await lstat(full);
      const ignored = ignore.ignores(rel) && rel !== dockerfile && rel !== '.dockerignore';
      if (stats.isDirectory()) {
        // An ignored folder can only hold something included again by a `!` pattern.
        if (!ignored || ignore.hasExclusions) await walk(full);
        continue;
      }
      if (ignored) continue;
      if (stats.isSymbolicLink()) entries.push(`l ${rel} ${await readlink(full)}`);
      else if (stats.isFile()) {
        entries.push(`f ${rel} ${(stats.mode & 0o111) !== 0 ? 'x' : '-'} ${await fileDigest(full)}`);
        files++;
        bytes += stats.size;
      }
    }
  };
  await walk(dir);
  const hash = createHash('sha256')
    .update(JSON.stringify({ manifest: dockerfile, args: settings.args }))
    .update('\n')
    .update(entries.join('\n'))
    .digest('hex');
  return { hash, files, bytes, dir };
}
