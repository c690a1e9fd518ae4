/**
 * The local rack's bundle store: a folder per bundle key, a file per version, like a versioned
 * S3 bucket. Each upload announces itself with the same "Object Created" event S3 sends to
 * EventBridge, so the local rack starts deploys exactly as the AWS rack does.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../errors';
import { bundleKey, parseBundleKey } from '../pipeline/bundle/key';
import type { BundleStore, ObjectCreatedEvent, StoredBundle } from '../pipeline/ports/bundle-store';

export class BundleNotFoundError extends SlipwayError {
  constructor(key: string, version: string) {
    super(`bundle not found: ${key} (version ${version})`, 'BUNDLE_NOT_FOUND', { key, version });
  }
}

const VERSION = /^[0-9a-z]{9}-[0-9a-f]{12}$/;

export interface DirBundleStoreOptions {
  /** Told of every upload, as EventBridge is by S3. */
  readonly onObjectCreated?: (event: ObjectCreatedEvent) => void | Promise<void>;
  readonly bucket?: string;
}

export class DirBundleStore implements BundleStore {
  readonly bucket: string;
  private sequence = 0;

  constructor(
    private readonly dir: string,
    private readonly options: DirBundleStoreOptions = {},
  ) {
    this.bucket = options.bucket ?? 'local-bundles';
  }

  private folder(key: string): string {
    const { app, name } = parseBundleKey(key);
    return join(this.dir, app, name);
  }

  async put(app: string, name: string, body: Buffer | Readable, metadata: Readonly<Record<string, string>> = {}): Promise<StoredBundle> {
    const key = bundleKey(app, name);
    const folder = this.folder(key);
    await mkdir(folder, { recursive: true });
    // Versions sort by time, and never collide.
    const version = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
    const temp = join(folder, `.${version}.partial`);
    const md5 = createHash('md5');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, meter, createWriteStream(temp, { mode: 0o600 }));
    const stored: StoredBundle = { app, key, version, etag: md5.digest('hex'), size, lastModified: new Date().toISOString(), metadata: { ...metadata } };
    await writeFile(join(folder, `${version}.json`), JSON.stringify(stored), { mode: 0o600 });
    await rename(temp, join(folder, `${version}.bundle`));
    await this.options.onObjectCreated?.(this.event(stored));
    return stored;
  }

  /** The event S3 would send for this object version. */
  event(stored: StoredBundle): ObjectCreatedEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: stored.lastModified,
      resources: [`arn:aws:s3:::${this.bucket}`],
      detail: {
        version: '0',
        bucket: { name: this.bucket },
        object: { key: stored.key, size: stored.size, etag: stored.etag, 'version-id': stored.version, sequencer: (++this.sequence).toString(16).padStart(16, '0') },
        reason: 'PutObject',
      },
    };
  }

  async open(key: string, version: string): Promise<Readable> {
    const folder = this.folder(key);
    if (!VERSION.test(version)) throw new BundleNotFoundError(key, version);
    const path = join(folder, `${version}.bundle`);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new BundleNotFoundError(key, version) : e));
    });
    return stream;
  }

  async head(key: string, version: string): Promise<StoredBundle | undefined> {
    const folder = this.folder(key);
    if (!VERSION.test(version)) return undefined;
    try {
      return JSON.parse(await readFile(join(folder, `${version}.json`), 'utf8')) as StoredBundle;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async list(app: string): Promise<StoredBundle[]> {
    const out: StoredBundle[] = [];
    const names = await readdir(join(this.dir, app)).catch(() => [] as string[]);
    for (const name of names) {
      const files = await readdir(join(this.dir, app, name)).catch(() => [] as string[]);
      for (const f of files) if (f.endsWith('.json')) out.push(JSON.parse(await readFile(join(this.dir, app, name, f), 'utf8')) as StoredBundle);
    }
    return out.sort((a, b) => (a.version < b.version ? -1 : 1));
  }

  async delete(key: string, version: string): Promise<void> {
    const folder = this.folder(key);
    if (!VERSION.test(version)) return;
    await rm(join(folder, `${version}.bundle`), { force: true });
    await rm(join(folder, `${version}.json`), { force: true });
  }
}
