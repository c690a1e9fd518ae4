import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirBundleStore } from '../../lib/local/dir-bundle-store';
import { deployExecutionName, parseBundleKey } from '../../lib/pipeline/bundle/key';
import { bundleStoreContract } from '../contracts/bundle-store.contract';

const root = mkdtempSync(join(tmpdir(), 'slipway-bundles-'));
let n = 0;
bundleStoreContract('DirBundleStore', (onObjectCreated) => Promise.resolve(new DirBundleStore(join(root, `b${n++}`), { onObjectCreated })));

describe('bundle keys and deploy names', () => {
  it('parse the layout and refuse anything else', () => {
    expect(parseBundleKey('apps/shop/bundles/20261128.tgz')).toEqual({ app: 'shop', name: '20261128.tgz' });
    for (const key of ['apps/shop/bundles/a/b.tgz', 'apps/Shop/bundles/x', 'other/shop/bundles/x', 'apps/shop/bundles/..', 'apps/shop/bundles/']) {
      expect(() => parseBundleKey(key), key).toThrow(/not a bundle key/);
    }
  });

  it('name a deploy after the exact object version, within Step Functions\u2019 limits', () => {
    const a = deployExecutionName('bucket', 'apps/shop/bundles/x.tgz', 'v1');
    expect(a).toBe(deployExecutionName('bucket', 'apps/shop/bundles/x.tgz', 'v1'));
    expect(a).not.toBe(deployExecutionName('bucket', 'apps/shop/bundles/x.tgz', 'v2'));
    expect(a).toMatch(/^deploy-shop-[0-9a-f]{24}$/);
    expect(deployExecutionName('b', `apps/${'a'.repeat(63)}/bundles/x`, 'v').length).toBeLessThanOrEqual(80);
  });
});
