/**
 * Where app bundles are kept: S3 (versioned) on AWS, a folder on the local rack. Every upload
 * is a new version of its key, announced by an S3-style "Object Created" event that starts a deploy.
 */
import type { Readable } from 'node:stream';
import type { BundleObject } from '../domain/model';

export interface StoredBundle extends BundleObject {
  readonly lastModified: string;
  /** User metadata of the upload, e.g. `auto-rollback: false` for a deploy that must not roll back. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** The event S3 sends to EventBridge when an object is written, with the fields Slipway reads. */
export interface ObjectCreatedEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'Object Created';
  readonly source: 'aws.s3';
  readonly time: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly version: '0';
    readonly bucket: { readonly name: string };
    readonly object: { readonly key: string; readonly size: number; readonly etag: string; readonly 'version-id': string; readonly sequencer: string };
    readonly reason: 'PutObject';
  };
}

export interface BundleStore {
  /** The bucket (or its local stand-in) the events name. */
  readonly bucket: string;
  /** Store a new version of `apps/<app>/bundles/<name>`. */
  put(app: string, name: string, body: Buffer | Readable, metadata?: Readonly<Record<string, string>>): Promise<StoredBundle>;
  /** The bytes of one exact version. */
  open(key: string, version: string): Promise<Readable>;
  head(key: string, version: string): Promise<StoredBundle | undefined>;
  /** Every stored version of an app's bundles, oldest first. */
  list(app: string): Promise<StoredBundle[]>;
  /** Delete one version (cleanup of bundles no release refers to). */
  delete(key: string, version: string): Promise<void>;
}
