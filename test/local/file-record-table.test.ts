/** The local rack's file-backed record store: the RecordTable contract, across real processes too. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileRecordTable } from '../../lib/local/file-record-table';
import { recordTableContract } from '../contracts/record-table.contract';
import { releaseStoreContract } from '../contracts/release-store.contract';
import { REPO_ROOT } from '../support/paths';

const root = mkdtempSync(join(tmpdir(), 'slipway-records-'));
let n = 0;

recordTableContract('FileRecordTable', () => Promise.resolve(new FileRecordTable(join(root, `t${n++}`))));

describe('FileRecordTable across processes', () => {
  it('counts every increment made by four processes racing on one record', async () => {
    const dir = join(root, 'race');
    const table = new FileRecordTable(dir);
    const key = { partition: 'counter', sort: 'n' };
    await table.put(key, 0, undefined);
    const script = `
      import { FileRecordTable } from ${JSON.stringify(join(REPO_ROOT, 'lib/local/file-record-table.ts'))};
      const t = new FileRecordTable(${JSON.stringify(dir)});
      const key = { partition: 'counter', sort: 'n' };
      for (let i = 0; i < 25; i++) {
        for (;;) {
          const r = await t.get(key);
          if (await t.put(key, r.value + 1, r.version)) break;
        }
      }`;
    const run = promisify(execFile);
    await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT })));
    expect((await table.get<number>(key))?.value).toBe(100);
    expect(readdirSync(join(dir, 'counter')).filter((f) => !f.endsWith('.json'))).toEqual([]);
  }, 60_000);
});

releaseStoreContract('FileRecordTable', () => Promise.resolve(new FileRecordTable(join(root, `s${n++}`))));
