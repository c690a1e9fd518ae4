/**
 * S3BundleStore against s3rver (a real S3 HTTP API, in-process) and, for what s3rver cannot do,
 * against aws-sdk-client-mock.
 *
 * s3rver 3.7 keeps no object versions (see the first test): its routes do not know the
 * `versioning` subresource (PutBucketVersioning falls through to CreateBucket), GET `?versions`
 * is 405, PutObject returns no VersionId, and Get/Head/Delete ignore VersionId. So s3rver runs the
 * contract without versions, with the store in `versioning: 'off'` mode (version "null", as S3
 * names objects of an unversioned bucket); the versioned calls are checked for their request
 * shapes with aws-sdk-client-mock, in the tests named "(S3: aws-sdk-client-mock)".
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NULL_VERSION, objectCreatedEvent, S3BundleNotFoundError, S3BundleStore, S3BundleStoreError, type S3BundleStoreOptions } from '../../lib/aws/adapters/s3-bundle-store';
import type { ObjectCreatedEvent, StoredBundle } from '../../lib/pipeline/ports/bundle-store';
import { bundleStoreContract } from '../contracts/bundle-store.contract';

// s3rver ships no type declarations; this is the part of its API the test uses.
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: { address: string; port: number; silent: boolean; directory: string; resetOnClose?: boolean }) => S3rverServer;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

let server: S3rverServer | undefined;
let dir = '';
let client: S3Client;
let buckets = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-s3rver-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const { port } = await server.run();
  client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    // s3rver's fixed development key pair.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** A new, empty bucket on s3rver, so each test starts clean. */
async function freshBucket(): Promise<string> {
  const bucket = `slipway-bundles-${buckets++}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function s3rverStore(options: S3BundleStoreOptions = { versioning: 'off' }): Promise<S3BundleStore> {
  return new S3BundleStore(client, await freshBucket(), options);
}

describe('s3rver', () => {
  it('keeps no object versions, so the versioned calls are tested with mocks', async () => {
    const bucket = await freshBucket();
    // If a newer s3rver passes this, run the contract with versions and drop the mocks below.
    await expect(client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }))).rejects.toThrow();
    await expect(client.send(new ListObjectVersionsCommand({ Bucket: bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 405 } });
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'apps/shop/bundles/x.tgz', Body: 'x' }));
    expect(put.VersionId).toBeUndefined();
  });
});

// On AWS the bucket itself sends "Object Created" to EventBridge, and S3BundleStore.put emits
// nothing. This subclass stands for that notification: after each real put it calls onEvent with
// the event EventBridge would deliver. Everything else in the contract runs against the adapter.
class AnnouncedS3BundleStore extends S3BundleStore {
  constructor(
    client: S3Client,
    bucket: string,
    private readonly onEvent: (e: ObjectCreatedEvent) => void,
  ) {
    super(client, bucket, { versioning: 'off' });
  }

  override async put(...args: Parameters<S3BundleStore['put']>): Promise<StoredBundle> {
    const stored = await super.put(...args);
    this.onEvent(objectCreatedEvent(this.bucket, stored, stored.lastModified));
    return stored;
  }
}

bundleStoreContract('S3BundleStore (s3rver)', async (onEvent) => new AnnouncedS3BundleStore(client, await freshBucket(), onEvent), { versions: false });

describe('S3BundleStore (s3rver)', () => {
  it('refuses an unversioned bucket unless told it is one', async () => {
    const store = await s3rverStore({});
    const err = await store.put('shop', 'app.tgz', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3BundleStoreError);
    expect(err).toMatchObject({ code: 'BUNDLE_BUCKET_UNVERSIONED', context: { bucket: store.bucket, key: 'apps/shop/bundles/app.tgz' } });
    expect((err as Error).message).toMatch(/not versioned/);
  });

  it('uploads a stream, and lists every bundle of the app with its metadata, oldest first', async () => {
    const store = await s3rverStore();
    const a = await store.put('shop', 'a.tgz', Readable.from([Buffer.from('hello, '), Buffer.from('world')]), { 'Auto-Rollback': 'false' });
    expect(a).toMatchObject({ version: NULL_VERSION, size: 12, etag: md5('hello, world'), metadata: { 'auto-rollback': 'false' } });
    expect(await text(await store.open(a.key, a.version))).toBe('hello, world');
    const b = await store.put('shop', 'b.tgz', Buffer.from('b'), { source: 'cli' });
    await store.put('other', 'a.tgz', Buffer.from('not shop'));
    // Objects under the prefix that are not bundles (a nested key, a folder marker) are left out.
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'apps/shop/bundles/nested/x.tgz', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: 'apps/shop/bundles/', Body: Buffer.alloc(0), ContentLength: 0 }));

    const listed = await store.list('shop');
    expect(listed.map((s) => [s.key, s.version, s.etag, s.size, s.metadata])).toEqual([
      [a.key, NULL_VERSION, a.etag, 12, { 'auto-rollback': 'false' }],
      [b.key, NULL_VERSION, b.etag, 1, { source: 'cli' }],
    ]);
    expect(Number.isNaN(Date.parse(listed[0]?.lastModified ?? ''))).toBe(false);
    await expect(store.list('Shop')).rejects.toThrow(/not a bundle key/);
  });

  it('refuses a stream larger than its limit, and stores nothing', async () => {
    const store = await s3rverStore({ versioning: 'off', maxStreamBytes: 8 });
    const err = await store.put('shop', 'big.tgz', Readable.from([Buffer.alloc(5), Buffer.alloc(5)])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BUNDLE_TOO_LARGE', context: { bucket: store.bucket, key: 'apps/shop/bundles/big.tgz' } });
    expect(await store.list('shop')).toEqual([]);
    // A Buffer has a length, so the limit does not apply to it.
    expect((await store.put('shop', 'big.tgz', Buffer.alloc(10))).size).toBe(10);
  });

  it('without versions, knows no version but "null", and never touches the object for another', async () => {
    const store = await s3rverStore();
    const b = await store.put('shop', 'app.tgz', Buffer.from('x'));
    expect(await store.head(b.key, 'some-version')).toBeUndefined();
    await expect(store.open(b.key, 'some-version')).rejects.toBeInstanceOf(S3BundleNotFoundError);
    await store.delete(b.key, 'some-version');
    expect(await text(await store.open(b.key, NULL_VERSION))).toBe('x');
  });

  it('names bucket, key and version in its errors', async () => {
    const store = await s3rverStore();
    const missing = await store.open('apps/shop/bundles/none.tgz', NULL_VERSION).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(S3BundleNotFoundError);
    expect(missing).toMatchObject({ code: 'BUNDLE_NOT_FOUND', context: { bucket: store.bucket, key: 'apps/shop/bundles/none.tgz', version: NULL_VERSION } });

    // A missing bucket is a misconfiguration, not a missing bundle.
    const nowhere = new S3BundleStore(client, 'no-such-bucket', { versioning: 'off' });
    const put = await nowhere.put('shop', 'app.tgz', Buffer.from('x')).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(S3BundleStoreError);
    expect(put).toMatchObject({ code: 'BUNDLE_STORE_S3_FAILED', context: { bucket: 'no-such-bucket', key: 'apps/shop/bundles/app.tgz', operation: 'PutObject' } });
    expect((put as Error).message).toMatch(/NoSuchBucket/);
    const open = await nowhere.open('apps/shop/bundles/app.tgz', NULL_VERSION).catch((e: unknown) => e);
    expect(open).not.toBeInstanceOf(S3BundleNotFoundError);
    expect(open).toMatchObject({ code: 'BUNDLE_STORE_S3_FAILED', context: { bucket: 'no-such-bucket', version: NULL_VERSION, operation: 'GetObject' } });
  });
});

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

/** A store on a client whose calls are answered by aws-sdk-client-mock, as a versioned bucket would. */
function mocked(options: S3BundleStoreOptions = {}): { store: S3BundleStore; s3: AwsClientStub<S3Client> } {
  // Mock one client instance, not the class, so the s3rver tests above keep the real one.
  const c = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  return { store: new S3BundleStore(c, 'bundles', options), s3: mockClient(c) };
}

const KEY = 'apps/shop/bundles/app.tgz';

describe('S3BundleStore (S3: aws-sdk-client-mock)', () => {
  it('put returns the VersionId S3 assigned and the ETag without quotes, and sends the metadata', async () => {
    const { store, s3 } = mocked();
    s3.on(PutObjectCommand).resolves({ VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', ETag: `"${md5('one')}"` });
    const stored = await store.put('shop', 'app.tgz', Buffer.from('one'), { 'auto-rollback': 'false' });
    expect(stored).toMatchObject({ app: 'shop', key: KEY, version: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', etag: md5('one'), size: 3, metadata: { 'auto-rollback': 'false' } });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: 'bundles', Key: KEY, ContentLength: 3, Metadata: { 'auto-rollback': 'false' } });
  });

  it('open, head and delete name the exact VersionId', async () => {
    const { store, s3 } = mocked();
    s3.on(GetObjectCommand).resolves({ Body: Readable.from([Buffer.from('one')]) as never, VersionId: 'v1' });
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e1"', ContentLength: 3, LastModified: new Date('2026-01-02T03:04:05Z'), Metadata: { 'auto-rollback': 'false' } });
    s3.on(DeleteObjectCommand).resolves({ VersionId: 'v1' });

    expect(await text(await store.open(KEY, 'v1'))).toBe('one');
    expect(await store.head(KEY, 'v1')).toEqual({ app: 'shop', key: KEY, version: 'v1', etag: 'e1', size: 3, lastModified: '2026-01-02T03:04:05.000Z', metadata: { 'auto-rollback': 'false' } });
    await store.delete(KEY, 'v1');

    const exact = { Bucket: 'bundles', Key: KEY, VersionId: 'v1' };
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual(exact);
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual(exact);
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual(exact);
  });

  it('a missing version, or one that is a delete marker, is not found; other failures are errors with context', async () => {
    const { store, s3 } = mocked();
    s3.on(HeadObjectCommand, { VersionId: 'gone' }).rejects(s3Error('NotFound', 404));
    s3.on(HeadObjectCommand, { VersionId: 'marker' }).rejects(s3Error('MethodNotAllowed', 405));
    s3.on(HeadObjectCommand, { VersionId: 'secret' }).rejects(s3Error('AccessDenied', 403));
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchVersion', 404));

    expect(await store.head(KEY, 'gone')).toBeUndefined();
    expect(await store.head(KEY, 'marker')).toBeUndefined();
    await expect(store.head(KEY, 'secret')).rejects.toMatchObject({ code: 'BUNDLE_STORE_S3_FAILED', context: { bucket: 'bundles', key: KEY, version: 'secret', operation: 'HeadObject' } });
    await expect(store.open(KEY, 'gone')).rejects.toMatchObject({ code: 'BUNDLE_NOT_FOUND', context: { bucket: 'bundles', key: KEY, version: 'gone' } });
  });

  it('list reads every page of ListObjectVersions, skips delete markers and stray keys, and gives the oldest first', async () => {
    const { store, s3 } = mocked();
    const t = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    // As S3 answers: keys in order, each key's versions newest first. v2 and v3 share a second.
    s3.on(ListObjectVersionsCommand, { KeyMarker: undefined }).resolves({
      IsTruncated: true,
      NextKeyMarker: KEY,
      NextVersionIdMarker: 'v2',
      Versions: [
        { Key: 'apps/shop/bundles/a.tgz', VersionId: 'a1', LastModified: t(2) },
        { Key: KEY, VersionId: 'v3', LastModified: t(5) },
        { Key: KEY, VersionId: 'v2', LastModified: t(5) },
      ],
      DeleteMarkers: [{ Key: KEY, VersionId: 'dm1', LastModified: t(6) }],
    });
    s3.on(ListObjectVersionsCommand, { KeyMarker: KEY, VersionIdMarker: 'v2' }).resolves({
      IsTruncated: false,
      Versions: [
        { Key: KEY, VersionId: 'v1', LastModified: t(1) },
        { Key: 'apps/shop/bundles/', VersionId: 'folder', LastModified: t(0) },
        { Key: 'apps/shop/bundles/z.tgz', VersionId: 'vanished', LastModified: t(3) },
      ],
      DeleteMarkers: [{ Key: 'apps/shop/bundles/z.tgz', VersionId: 'dm2', LastModified: t(4) }],
    });
    s3.on(HeadObjectCommand).callsFake((input: { Key: string; VersionId: string }) => {
      // z.tgz's version was deleted between the listing and its head.
      if (input.VersionId === 'vanished') throw s3Error('NotFound', 404);
      return { VersionId: input.VersionId, ETag: `"${input.VersionId}"`, ContentLength: 1, LastModified: new Date(0), Metadata: { v: input.VersionId } };
    });

    const listed = await store.list('shop');
    expect(listed.map((b) => b.version)).toEqual(['v1', 'a1', 'v2', 'v3']);
    expect(listed.map((b) => b.metadata)).toEqual([{ v: 'v1' }, { v: 'a1' }, { v: 'v2' }, { v: 'v3' }]);

    const lists = s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { Bucket: 'bundles', Prefix: 'apps/shop/bundles/', Delimiter: '/', KeyMarker: undefined, VersionIdMarker: undefined },
      { Bucket: 'bundles', Prefix: 'apps/shop/bundles/', Delimiter: '/', KeyMarker: KEY, VersionIdMarker: 'v2' },
    ]);
    const heads = s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.VersionId);
    expect(heads.sort()).toEqual(['a1', 'v1', 'v2', 'v3', 'vanished']);
    expect(heads).not.toContain('dm1');
  });

  it('without versioning, list pages through ListObjectsV2', async () => {
    const { store, s3 } = mocked({ versioning: 'off' });
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ IsTruncated: true, NextContinuationToken: 'next', Contents: [{ Key: 'apps/shop/bundles/b.tgz', LastModified: new Date(2000) }] });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'next' }).resolves({ IsTruncated: false, Contents: [{ Key: 'apps/shop/bundles/a.tgz', LastModified: new Date(1000) }] });
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => ({ ETag: '"e"', ContentLength: 1, LastModified: new Date(0), Metadata: { key: input.Key } }));
    const listed = await store.list('shop');
    expect(listed.map((b) => [b.key, b.version])).toEqual([
      ['apps/shop/bundles/a.tgz', NULL_VERSION],
      ['apps/shop/bundles/b.tgz', NULL_VERSION],
    ]);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2);
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.VersionId)).toEqual([NULL_VERSION, NULL_VERSION]);
  });
});

describe('objectCreatedEvent', () => {
  const stored: StoredBundle = { app: 'shop', key: KEY, version: 'v1', etag: 'e1', size: 3, lastModified: '2026-01-02T03:04:05.678Z', metadata: {} };

  it('is the event EventBridge delivers for an S3 PutObject', () => {
    const e = objectCreatedEvent('bundles', stored, stored.lastModified);
    expect(e).toMatchObject({
      version: '0',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: '2026-01-02T03:04:05Z',
      resources: ['arn:aws:s3:::bundles'],
      detail: { version: '0', bucket: { name: 'bundles' }, object: { key: KEY, size: 3, etag: 'e1', 'version-id': 'v1' }, reason: 'PutObject' },
    });
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(e.detail.object.sequencer).toMatch(/^[0-9A-F]+$/);
  });

  it('is pure: the same upload gives the same event, another version another id', () => {
    const at = new Date(stored.lastModified);
    expect(objectCreatedEvent('bundles', stored, at)).toEqual(objectCreatedEvent('bundles', stored, stored.lastModified));
    expect(objectCreatedEvent('bundles', { ...stored, version: 'v2' }, at).id).not.toBe(objectCreatedEvent('bundles', stored, at).id);
    expect(() => objectCreatedEvent('bundles', stored, 'not a time')).toThrow(/not a time/);
  });
});
