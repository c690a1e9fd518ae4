/**
 * What every RecordTable adapter must do (the local file store now, DynamoDB on the AWS rack).
 * Each adapter's test file calls this with a factory for a fresh, empty table.
 */
import { describe, expect, it } from 'vitest';
import type { RecordTable } from '../../lib/pipeline/ports/record-table';

export function recordTableContract(adapter: string, fresh: () => Promise<RecordTable>): void {
  describe(`RecordTable contract: ${adapter}`, () => {
    const key = { partition: 'app#demo', sort: 'release#RAAAAAAAAAA' };

    it('creates a record only when it does not exist', async () => {
      const t = await fresh();
      expect(await t.get(key)).toBeUndefined();
      expect(await t.put(key, { a: 1 }, undefined)).toEqual({ key, value: { a: 1 }, version: 1 });
      expect(await t.put(key, { a: 2 }, undefined)).toBeUndefined();
      expect((await t.get(key))?.value).toEqual({ a: 1 });
    });

    it('updates only from the expected version', async () => {
      const t = await fresh();
      await t.put(key, { a: 1 }, undefined);
      expect(await t.put(key, { a: 2 }, 2)).toBeUndefined();
      expect(await t.put(key, { a: 2 }, 1)).toMatchObject({ version: 2 });
      expect(await t.put(key, { a: 3 }, 1)).toBeUndefined();
      expect(await t.get(key)).toMatchObject({ value: { a: 2 }, version: 2 });
    });

    it('deletes only at the expected version', async () => {
      const t = await fresh();
      await t.put(key, { a: 1 }, undefined);
      expect(await t.delete(key, 5)).toBe(false);
      expect(await t.delete(key, 1)).toBe(true);
      expect(await t.get(key)).toBeUndefined();
      expect(await t.delete(key, 1)).toBe(false);
    });

    it('lists a partition by sort-key prefix, in sort-key order, and keeps partitions apart', async () => {
      const t = await fresh();
      for (const sort of ['release#RB', 'build#BA', 'release#RA', 'release.x', 'release#RC']) await t.put({ partition: 'app#demo', sort }, { sort }, undefined);
      await t.put({ partition: 'app#other', sort: 'release#RZ' }, {}, undefined);
      const releases = await t.query<{ sort: string }>('app#demo', 'release#');
      expect(releases.map((r) => r.key.sort)).toEqual(['release#RA', 'release#RB', 'release#RC']);
      expect(await t.query('app#none', '')).toEqual([]);
    });

    it('keeps keys with any characters apart', async () => {
      const t = await fresh();
      const odd = ['a/b', 'a%2Fb', '..', '.', 'ü*?', ' '];
      for (const sort of odd) await t.put({ partition: 'p/../x', sort }, sort, undefined);
      expect((await t.query<string>('p/../x', '')).map((r) => r.value).sort()).toEqual([...odd].sort());
    });

    it('lets exactly one of many concurrent writers win a version', async () => {
      const t = await fresh();
      await t.put(key, 0, undefined);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => t.put(key, i + 1, 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await t.get(key))?.version).toBe(2);
    });
  });
}
