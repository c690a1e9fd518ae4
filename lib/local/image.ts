/**
 * A local image: what the local builder makes of a Dockerfile and the local runtime runs. It is a
 * directory, `<image>/rootfs` holding the files the build left (the container's filesystem, minus
 * the base image, whose part the host's toolchain plays), and `<image>/image.json` holding the
 * config Docker would keep in the image: environment, working directory, entrypoint, command.
 * The image reference a release records is the directory's absolute path.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { SlipwayError } from '../errors';

export interface LocalImageConfig {
  /** Format version of image.json. */
  readonly version: 1;
  /** The container path commands start in (`WORKDIR`), e.g. `/app`; `/` by default. */
  readonly workdir: string;
  /** `ENV` values, in the order the Dockerfile set them. */
  readonly env: Readonly<Record<string, string>>;
  /** `ENTRYPOINT` in exec form (a shell form is stored as `["/bin/sh", "-c", "..."]`). */
  readonly entrypoint: readonly string[];
  /** `CMD` in exec form (a shell form as above). */
  readonly cmd: readonly string[];
  /** `EXPOSE`d ports. */
  readonly expose: readonly number[];
  /** The build context's hash the image was made from. */
  readonly contextHash: string;
}

export interface LocalImage extends LocalImageConfig {
  /** The image's reference (its directory). */
  readonly ref: string;
  /** Where the container's `/` is on the host. */
  readonly root: string;
}

export const IMAGE_CONFIG_FILE = 'image.json';
export const IMAGE_ROOT_DIR = 'rootfs';

export class LocalImageError extends SlipwayError {
  constructor(ref: string, problem: string) {
    super(`local image ${ref} ${problem}`, 'LOCAL_IMAGE_INVALID', { image: ref });
  }
}

export async function readLocalImage(ref: string): Promise<LocalImage> {
  if (!isAbsolute(ref)) throw new LocalImageError(ref, 'is not a local image (the local rack runs images it built, named by their directory)');
  let text: string;
  try {
    text = await readFile(join(ref, IMAGE_CONFIG_FILE), 'utf8');
  } catch {
    throw new LocalImageError(ref, `has no ${IMAGE_CONFIG_FILE}; it may have been cleaned up`);
  }
  const config = JSON.parse(text) as LocalImageConfig;
  if (config.version !== 1) throw new LocalImageError(ref, `has an unknown format version ${String(config.version)}`);
  return { ...config, ref, root: join(ref, IMAGE_ROOT_DIR) };
}

/**
 * Where a container path (absolute, or relative to the working directory) is on the host. `..`
 * stops at the container's root, as it does inside a container, so the result stays in `root`.
 */
export function hostPath(image: Pick<LocalImage, 'root' | 'workdir'>, containerPath: string): string {
  return join(image.root, posix.resolve('/', image.workdir, containerPath));
}
