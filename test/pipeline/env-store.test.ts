/** Versioned app environments: a writer that died half-way never wedges the environment. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';

const fresh = (): { table: FileRecordTable; env: RecordEnvStore } => {
  const table = new FileRecordTable(mkdtempSync(join(tmpdir(), 'slipway-env-')));
  return { table, env: new RecordEnvStore(table) };
};

describe('RecordEnvStore', () => {
  it('keeps every version and reads each back', async () => {
    const { env } = fresh();
    expect(await env.current('shop')).toEqual({ version: 0, values: {} });
    expect(await env.set('shop', { A: '1' })).toBe(1);
    expect(await env.set('shop', { A: '2', B: 'x' })).toBe(2);
    expect(await env.current('shop')).toEqual({ version: 2, values: { A: '2', B: 'x' } });
    expect(await env.get('shop', 1)).toEqual({ A: '1' });
  });

  it('skips a version a crashed writer left without moving the head, instead of failing forever', async () => {
    const { table, env } = fresh();
    await env.set('shop', { A: '1' });
    // A writer wrote version 2 and died before pointing the head at it.
    await table.put({ partition: 'env#shop', sort: '0000000002' }, { A: 'orphan' }, undefined);
    expect(await env.set('shop', { A: '3' })).toBe(3);
    expect(await env.current('shop')).toEqual({ version: 3, values: { A: '3' } });
  });

  it('gives concurrent writers distinct versions', async () => {
    const { env } = fresh();
    const versions = await Promise.all([1, 2, 3, 4].map((n) => env.set('shop', { N: String(n) })));
    expect(new Set(versions).size).toBe(4);
    const { version, values } = await env.current('shop');
    expect(version).toBe(Math.max(...versions));
    expect(await env.get('shop', version)).toEqual(values);
  });
});
