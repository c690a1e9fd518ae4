/**
 * The AWS rack's record store against dynalite (DynamoDB's API, in process; no AWS account here):
 * the same RecordTable and ReleaseStore contracts the local twin passes, through the real SDK client,
 * plus what only DynamoDB has: pages of results, consistent reads, and its own failures.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoRecordTable, RecordTableError, recordTableSchema } from '../../lib/aws/adapters/dynamo-record-table';
import { recordTableContract } from '../contracts/record-table.contract';
import { releaseStoreContract } from '../contracts/release-store.contract';

// dynalite is CommonJS without type declarations.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs?: number; deleteTableMs?: number }) => Server;

let server: Server;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/** A new, empty table made from the adapter's own schema, as the CDK stack makes it. */
async function freshTableName(): Promise<string> {
  const name = `slipway-records-${tables++}`;
  await client.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', ...recordTableSchema }));
  // Even with createTableMs 0 the table is CREATING for a tick; writes to it would be refused.
  while ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE') await sleep(5);
  return name;
}

async function fresh(options?: { pageSize?: number }): Promise<DynamoRecordTable> {
  return new DynamoRecordTable(client, await freshTableName(), options);
}

recordTableContract('DynamoRecordTable (dynalite)', () => fresh());
releaseStoreContract('DynamoRecordTable (dynalite)', () => fresh());

describe('DynamoRecordTable on dynalite', () => {
  it('follows LastEvaluatedKey: a query over many pages returns every record, in sort-key order', async () => {
    const t = await fresh({ pageSize: 3 });
    const sorts = Array.from({ length: 10 }, (_, i) => `release#R${String(i).padStart(2, '0')}`);
    for (const sort of [...sorts].reverse()) await t.put({ partition: 'app#paged', sort }, { sort }, undefined);
    await t.put({ partition: 'app#paged', sort: 'build#B1' }, {}, undefined);
    const send = vi.spyOn(client, 'send');
    try {
      const got = await t.query<{ sort: string }>('app#paged', 'release#');
      expect(got.map((r) => r.key.sort)).toEqual(sorts);
      expect(got.map((r) => r.value.sort)).toEqual(sorts);
      // 10 records, 3 a page: 4 round trips, or the pages were not followed.
      expect(send.mock.calls.filter(([c]) => c instanceof QueryCommand)).toHaveLength(4);
    } finally {
      send.mockRestore();
    }
  });

  it('follows DynamoDB\u2019s own 1 MB page limit too (no Limit set)', async () => {
    const t = await fresh();
    const big = 'x'.repeat(150 * 1024);
    const sorts = Array.from({ length: 9 }, (_, i) => `blob#${i}`);
    for (const sort of sorts) await t.put({ partition: 'big', sort }, { sort, big }, undefined);
    const send = vi.spyOn(client, 'send');
    try {
      const got = await t.query<{ sort: string; big: string }>('big', 'blob#');
      expect(got.map((r) => r.key.sort)).toEqual(sorts);
      expect(got.every((r) => r.value.big.length === big.length)).toBe(true);
      expect(send.mock.calls.filter(([c]) => c instanceof QueryCommand).length).toBeGreaterThan(1);
    } finally {
      send.mockRestore();
    }
  });

  it('reads consistently everywhere: the deploy lock reads and then writes conditionally', async () => {
    const t = await fresh({ pageSize: 1 });
    await t.put({ partition: 'p', sort: 'a' }, 1, undefined);
    await t.put({ partition: 'p', sort: 'b' }, 2, undefined);
    const send = vi.spyOn(client, 'send');
    try {
      await t.get({ partition: 'p', sort: 'a' });
      await t.query('p', '');
      await t.query('p', 'a');
      const reads = send.mock.calls.map(([c]) => c).filter((c) => c instanceof GetItemCommand || c instanceof QueryCommand);
      expect(reads.length).toBeGreaterThanOrEqual(4);
      for (const c of reads) expect((c.input as { ConsistentRead?: boolean }).ConsistentRead).toBe(true);
    } finally {
      send.mockRestore();
    }
  });

  it('stores pk, sk, version (N) and the value as a JSON string attribute', async () => {
    const name = await freshTableName();
    const t = new DynamoRecordTable(client, name);
    await t.put({ partition: 'app#demo', sort: 'release#R1' }, { nested: { list: [1, 'two', null], flag: true } }, undefined);
    await t.put({ partition: 'app#demo', sort: 'release#R1' }, { nested: { list: [1, 'two', null], flag: false } }, 1);
    const raw: GetItemCommandOutput = await client.send(new GetItemCommand({ TableName: name, Key: { pk: { S: 'app#demo' }, sk: { S: 'release#R1' } }, ConsistentRead: true }));
    expect(raw.Item).toEqual({ pk: { S: 'app#demo' }, sk: { S: 'release#R1' }, version: { N: '2' }, json: { S: '{"nested":{"list":[1,"two",null],"flag":false}}' } });
  });

  it('reports other failures as typed errors naming table and key, never the value', async () => {
    const t = new DynamoRecordTable(client, 'no-such-table');
    const key = { partition: 'env#shop', sort: '0000000001' };
    const err = await t.put(key, { SECRET: 'hunter2-do-not-print' }, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordTableError);
    expect(err).toMatchObject({ code: 'RECORD_TABLE_FAILED', context: { table: 'no-such-table', partition: 'env#shop', sort: '0000000001', operation: 'PutItem' } });
    expect((err as Error).message).toMatch(/ResourceNotFoundException/);
    expect(JSON.stringify({ message: (err as Error).message, context: (err as RecordTableError).context })).not.toContain('hunter2');
    await expect(t.get(key)).rejects.toMatchObject({ code: 'RECORD_TABLE_FAILED', context: { operation: 'GetItem' } });
    await expect(t.query('env#shop', '')).rejects.toMatchObject({ code: 'RECORD_TABLE_FAILED', context: { operation: 'Query', partition: 'env#shop' } });
  });

  it('refuses empty keys before DynamoDB does', async () => {
    const t = await fresh();
    await expect(t.put({ partition: 'p', sort: '' }, 1, undefined)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(t.query('', 'x')).rejects.toMatchObject({ code: 'INVALID_KEY' });
  });
});
