/** What every BundleStore adapter must do (the local folder now, S3 on the AWS rack). */
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { BundleStore, ObjectCreatedEvent } from '../../lib/pipeline/ports/bundle-store';

export interface BundleStoreContractOptions {
  /**
   * false for a peer that keeps only the current object (an S3 emulator without object
   * versioning): a second upload then replaces the first, and the version assertions are
   * replaced by that. Every real BundleStore keeps versions (the default).
   */
  readonly versions?: boolean;
}

export function bundleStoreContract(
  adapter: string,
  fresh: (onEvent: (e: ObjectCreatedEvent) => void) => Promise<BundleStore>,
  options: BundleStoreContractOptions = {},
): void {
  const versions = options.versions ?? true;
  describe(`BundleStore contract: ${adapter}`, () => {
    // Only the test that fits the peer is registered, so neither shows up as skipped.
    if (versions) {
      it('keeps every upload as a version, with its ETag, size and metadata', async () => {
        const store = await fresh(() => undefined);
        const first = await store.put('shop', 'app.tgz', Buffer.from('one'), { 'auto-rollback': 'false' });
        const second = await store.put('shop', 'app.tgz', Buffer.from('second'));
        expect(first).toMatchObject({ app: 'shop', key: 'apps/shop/bundles/app.tgz', size: 3, etag: 'f97c5d29941bfb1b2fdab0874906ab82', metadata: { 'auto-rollback': 'false' } });
        expect(second.version).not.toBe(first.version);
        expect(await text(await store.open(first.key, first.version))).toBe('one');
        expect(await text(await store.open(second.key, second.version))).toBe('second');
        expect((await store.head(first.key, first.version))?.etag).toBe(first.etag);
        expect((await store.list('shop')).map((b) => b.version)).toEqual([first.version, second.version]);
      });
    } else {
      it('keeps the current upload, with its ETag, size and metadata (no versions)', async () => {
        const store = await fresh(() => undefined);
        const first = await store.put('shop', 'app.tgz', Buffer.from('one'), { 'auto-rollback': 'false' });
        expect(first).toMatchObject({ app: 'shop', key: 'apps/shop/bundles/app.tgz', size: 3, etag: 'f97c5d29941bfb1b2fdab0874906ab82', metadata: { 'auto-rollback': 'false' } });
        expect(await text(await store.open(first.key, first.version))).toBe('one');
        expect(await store.head(first.key, first.version)).toMatchObject({ etag: first.etag, size: 3, metadata: { 'auto-rollback': 'false' } });
        const second = await store.put('shop', 'app.tgz', Buffer.from('second'));
        expect(await text(await store.open(second.key, second.version))).toBe('second');
        expect((await store.list('shop')).map((b) => [b.version, b.etag])).toEqual([[second.version, second.etag]]);
      });
    }

    it('announces each upload with an S3 Object Created event', async () => {
      const events: ObjectCreatedEvent[] = [];
      const store = await fresh((e) => events.push(e));
      const b = await store.put('shop', 'app.tgz', Buffer.from('x'));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: { bucket: { name: store.bucket }, object: { key: 'apps/shop/bundles/app.tgz', size: 1, etag: b.etag, 'version-id': b.version } },
      });
    });

    it('deletes one version, and reports a missing one', async () => {
      const store = await fresh(() => undefined);
      const b = await store.put('shop', 'app.tgz', Buffer.from('x'));
      await store.delete(b.key, b.version);
      expect(await store.head(b.key, b.version)).toBeUndefined();
      await expect(store.open(b.key, b.version)).rejects.toThrow(/not found/);
      expect(await store.list('shop')).toEqual([]);
    });

    it('refuses keys outside apps/<app>/bundles/<name>', async () => {
      const store = await fresh(() => undefined);
      await expect(store.put('Shop', 'x.tgz', Buffer.from('x'))).rejects.toThrow(/not a bundle key/);
      await expect(store.put('shop', '../escape', Buffer.from('x'))).rejects.toThrow(/not a bundle key/);
      await expect(store.open('apps/shop/other/x.tgz', 'v')).rejects.toThrow(/not a bundle key/);
    });
  });
}
