/**
 * The AWS rack's bundle store: the versioned bundle bucket (lib/aws/bundle-bucket.ts). Every upload
 * is a new S3 object version, and the bucket itself tells EventBridge ("Object Created"), so `put`
 * announces nothing; `objectCreatedEvent` builds that event for tests and for the CLI.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SlipwayError } from '../../errors';
import { APP_NAME } from '../../pipeline/domain/model';
import { BundleKeyError, bundleKey, parseBundleKey } from '../../pipeline/bundle/key';
import type { BundleStore, ObjectCreatedEvent, StoredBundle } from '../../pipeline/ports/bundle-store';

/** The version id S3 gives an object written while versioning is off. */
export const NULL_VERSION = 'null';

// A type, not an interface, so it fits SlipwayError's Record context.
export type S3BundleStoreErrorContext = {
  readonly bucket: string;
  readonly key?: string;
  readonly version?: string;
  /** The S3 operation that failed, e.g. `GetObject`. */
  readonly operation?: string;
};

/** An S3 call about a bundle failed; the context names the bucket, key and version involved. */
export class S3BundleStoreError extends SlipwayError {
  constructor(message: string, code: string, context: S3BundleStoreErrorContext, options?: { cause?: unknown }) {
    super(message, code, context, options);
  }
}

/** The version asked for does not exist (same code as the local store's, so callers can treat both alike). */
export class S3BundleNotFoundError extends S3BundleStoreError {
  constructor(bucket: string, key: string, version: string, cause?: unknown) {
    super(`bundle not found: ${key} (version ${version}) in s3://${bucket}`, 'BUNDLE_NOT_FOUND', { bucket, key, version }, { cause });
  }
}

export interface S3BundleStoreOptions {
  /**
   * `required` (the default, and what the AWS rack's bucket has): a PutObject answered without a
   * VersionId is an error, because deploys are named after the version and a rollback needs the
   * bytes of older versions.
   * `off`: the bucket keeps only the current object, whose version S3 calls "null". Only for S3
   * emulators without versioning (s3rver); a later upload replaces the bytes of an earlier one.
   */
  readonly versioning?: 'required' | 'off';
  /**
   * Largest stream body `put` accepts. PutObject needs the length up front and
   * `@aws-sdk/lib-storage` (multipart uploads of unknown length) is not a dependency, so a stream
   * is read into memory first; this bound keeps a runaway stream from exhausting it.
   */
  readonly maxStreamBytes?: number;
  /** HeadObject calls in flight while `list` gathers metadata, which ListObjectVersions does not return. */
  readonly listConcurrency?: number;
}

const DEFAULT_MAX_STREAM_BYTES = 512 * 1024 * 1024;

/**
 * The "Object Created" event EventBridge delivers for an S3 PutObject, with the fields Slipway
 * reads. Pure: the id is derived from the object version (one version is created once) and the
 * sequencer from the time, so the same upload always gives the same event.
 */
export function objectCreatedEvent(bucket: string, stored: StoredBundle, time: Date | string): ObjectCreatedEvent {
  const at = new Date(time);
  if (Number.isNaN(at.getTime())) throw new TypeError(`objectCreatedEvent: ${String(time)} is not a time`);
  const h = createHash('sha256').update(`${bucket}\n${stored.key}\n${stored.version}`).digest('hex');
  return {
    version: '0',
    id: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    // EventBridge times have whole seconds.
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: stored.key,
        size: stored.size,
        etag: stored.etag,
        'version-id': stored.version,
        // S3 sequencers are upper-case hex that grow with time for one key.
        sequencer: at.getTime().toString(16).toUpperCase().padStart(18, '0'),
      },
      reason: 'PutObject',
    },
  };
}

export class S3BundleStore implements BundleStore {
  private readonly versioning: 'required' | 'off';
  private readonly maxStreamBytes: number;
  private readonly listConcurrency: number;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    options: S3BundleStoreOptions = {},
  ) {
    this.versioning = options.versioning ?? 'required';
    this.maxStreamBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
    this.listConcurrency = Math.max(1, options.listConcurrency ?? 8);
  }

  async put(app: string, name: string, body: Buffer | Readable, metadata: Readonly<Record<string, string>> = {}): Promise<StoredBundle> {
    const key = bundleKey(app, name);
    const bytes = Buffer.isBuffer(body) ? body : await this.readAll(body, key);
    const out = await this.call('PutObject', key, undefined, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.length, Metadata: { ...metadata } }),
      ),
    );
    if (out.VersionId === undefined && this.versioning === 'required') {
      throw new S3BundleStoreError(
        `s3://${this.bucket} is not versioned: ${key} was written without a version id, replacing the previous bundle. Turn versioning on for the bundle bucket.`,
        'BUNDLE_BUCKET_UNVERSIONED',
        { bucket: this.bucket, key, operation: 'PutObject' },
      );
    }
    return {
      app,
      key,
      version: out.VersionId ?? NULL_VERSION,
      etag: unquote(out.ETag),
      size: bytes.length,
      // PutObject does not return LastModified; the moment S3 answered is within a second of it.
      lastModified: new Date().toISOString(),
      // S3 lower-cases metadata names; return them as head and list will.
      metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v])),
    };
  }

  async open(key: string, version: string): Promise<Readable> {
    parseBundleKey(key);
    if (!this.mayExist(version)) throw new S3BundleNotFoundError(this.bucket, key, version);
    const out = await this.call('GetObject', key, version, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: version })));
    const body: unknown = out.Body;
    if (body instanceof Readable) return body;
    // Outside Node's HTTP handler the SDK may hand back a web stream.
    if (body !== null && typeof body === 'object' && 'getReader' in body) return Readable.fromWeb(body as WebReadableStream<Uint8Array>);
    throw new S3BundleStoreError(`S3 GetObject returned no body for s3://${this.bucket}/${key} (version ${version})`, 'BUNDLE_STORE_S3_FAILED', {
      bucket: this.bucket,
      key,
      version,
      operation: 'GetObject',
    });
  }

  async head(key: string, version: string): Promise<StoredBundle | undefined> {
    const { app } = parseBundleKey(key);
    if (!this.mayExist(version)) return undefined;
    try {
      const out = await this.call('HeadObject', key, version, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: version })));
      return {
        app,
        key,
        version: out.VersionId ?? version,
        etag: unquote(out.ETag),
        size: out.ContentLength ?? 0,
        lastModified: (out.LastModified ?? new Date(0)).toISOString(),
        metadata: { ...(out.Metadata ?? {}) },
      };
    } catch (e) {
      if (e instanceof S3BundleNotFoundError) return undefined;
      throw e;
    }
  }

  async list(app: string): Promise<StoredBundle[]> {
    if (!APP_NAME.test(app)) throw new BundleKeyError(`apps/${app}/bundles/`, 'the app name must be lower-case letters, digits and dashes');
    const prefix = `apps/${app}/bundles/`;
    const found = this.versioning === 'off' ? await this.listCurrent(prefix) : await this.listVersions(prefix);
    // ListObjectVersions gives no user metadata, and the port promises it (e.g. auto-rollback).
    const heads = await mapLimit(found, this.listConcurrency, (v) => this.head(v.key, v.version));
    // A version deleted between the listing and its head is gone: leave it out.
    return heads.filter((b): b is StoredBundle => b !== undefined);
  }

  async delete(key: string, version: string): Promise<void> {
    parseBundleKey(key);
    // Emulators without versioning ignore VersionId and would delete the current object.
    if (!this.mayExist(version)) return;
    await this.call('DeleteObject', key, version, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: version })));
  }

  /** Every version under the prefix, oldest first, without delete markers. */
  private async listVersions(prefix: string): Promise<{ key: string; version: string }[]> {
    const groups = new Map<string, { key: string; version: string; at: number }[]>();
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const out = await this.call('ListObjectVersions', prefix, undefined, () =>
        this.client.send(new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', KeyMarker: keyMarker, VersionIdMarker: versionMarker })),
      );
      // Delete markers come in out.DeleteMarkers and are not bundles, so only Versions is read.
      for (const v of out.Versions ?? []) {
        if (v.Key === undefined || v.VersionId === undefined || !isBundleKey(v.Key, prefix)) continue;
        const group = groups.get(v.Key) ?? [];
        group.push({ key: v.Key, version: v.VersionId, at: v.LastModified?.getTime() ?? 0 });
        groups.set(v.Key, group);
      }
      if (out.IsTruncated !== true) break;
      keyMarker = out.NextKeyMarker;
      versionMarker = out.NextVersionIdMarker;
    } while (keyMarker !== undefined);
    // S3 lists a key's versions newest first, and LastModified often has whole seconds: reverse
    // each key's versions, then a stable sort by time keeps uploads within one second in order.
    return [...groups.values()].flatMap((g) => g.reverse()).sort((a, b) => a.at - b.at);
  }

  /** The current objects under the prefix, for a bucket without versioning. */
  private async listCurrent(prefix: string): Promise<{ key: string; version: string }[]> {
    const found: { key: string; version: string; at: number }[] = [];
    let token: string | undefined;
    do {
      const out = await this.call('ListObjectsV2', prefix, undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token })),
      );
      for (const o of out.Contents ?? []) {
        if (o.Key !== undefined && isBundleKey(o.Key, prefix)) found.push({ key: o.Key, version: NULL_VERSION, at: o.LastModified?.getTime() ?? 0 });
      }
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found.sort((a, b) => a.at - b.at);
  }

  /** Without versioning only the "null" version can exist; emulators would answer any other with the current object. */
  private mayExist(version: string): boolean {
    return this.versioning === 'required' || version === NULL_VERSION;
  }

  private async readAll(body: Readable, key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
      size += buf.length;
      if (size > this.maxStreamBytes) {
        body.destroy();
        throw new S3BundleStoreError(
          `bundle ${key} is larger than ${this.maxStreamBytes} bytes: a stream is held in memory before upload (PutObject needs its length); pass a larger maxStreamBytes or upload a smaller bundle`,
          'BUNDLE_TOO_LARGE',
          { bucket: this.bucket, key, operation: 'PutObject' },
        );
      }
      chunks.push(buf);
    }
    return Buffer.concat(chunks, size);
  }

  /** Run one S3 call, turning its failure into a typed error that names the bucket, key and version. */
  private async call<T>(operation: string, key: string, version: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      const name = errorName(e);
      const status = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
      // 404 is a missing key or version (a HEAD has no body to say which, nor to tell a missing
      // bucket apart); 405 is a version that is a delete marker. A missing bucket on GET is a
      // misconfiguration, not a missing bundle.
      if (version !== undefined && name !== 'NoSuchBucket' && (status === 404 || status === 405 || name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound')) {
        throw new S3BundleNotFoundError(this.bucket, key, version, e);
      }
      const where = `s3://${this.bucket}/${key}${version === undefined ? '' : ` (version ${version})`}`;
      const message = e instanceof Error ? e.message : String(e);
      throw new S3BundleStoreError(`S3 ${operation} failed for ${where}: ${name}: ${message}`, 'BUNDLE_STORE_S3_FAILED', { bucket: this.bucket, key, version, operation }, { cause: e });
    }
  }
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"(.*)"$/, '$1');
}

function errorName(e: unknown): string {
  return e !== null && typeof e === 'object' && 'name' in e && typeof e.name === 'string' ? e.name : 'Error';
}

function isBundleKey(key: string, prefix: string): boolean {
  if (!key.startsWith(prefix)) return false;
  try {
    parseBundleKey(key);
    return true;
  } catch {
    // A folder marker or a stray object under the prefix is not a bundle.
    return false;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
