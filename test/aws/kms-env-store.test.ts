/**
 * The AWS rack's env store: values sealed with KMS envelope encryption. KMS is a mock
 * (aws-sdk-client-mock; no AWS account here) that behaves as KMS does where it matters: a data key
 * only decrypts with the encryption context and key it was made with. The records go to real
 * tables: the local FileRecordTable and DynamoRecordTable on dynalite, read back raw to show no
 * value is stored in plain text.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DecryptCommandInput, DecryptCommandOutput, GenerateDataKeyCommandInput } from '@aws-sdk/client-kms';
import { DecryptCommand, GenerateDataKeyCommand, InvalidCiphertextException, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRecordTable, recordTableSchema } from '../../lib/aws/adapters/dynamo-record-table';
import { EnvEncryptionError, KmsEnvStore } from '../../lib/aws/adapters/kms-env-store';
import { FileRecordTable } from '../../lib/local/file-record-table';
import type { RecordTable } from '../../lib/pipeline/ports/record-table';
import { NotFoundError } from '../../lib/pipeline/stores/release-store';

const KEY_ID = 'alias/slipway-env';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** The fixed data key the mock hands out (a copy each call: the store wipes the one it gets). */
const DATA_KEY = randomBytes(32);

const VALUES = { DATABASE_URL: 'postgres://app:pa55-Zq9xK@db.internal/shop', STRIPE_KEY: 'sk_live_7hVb2qWm9TeXr', PLAIN: 'enabled-3f9' };

/**
 * A stand-in for KMS's wrapped data key: which key and context it was made under, plus noise so no
 * two blobs are equal. Real blobs are opaque; all the mock needs is to know what may decrypt it.
 */
function fakeBlob(context: Record<string, string> | undefined): Uint8Array {
  return Buffer.from(JSON.stringify({ key: KEY_ARN, context: context ?? {}, nonce: randomBytes(8).toString('hex') }));
}

const kmsClient = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
const kms = mockClient(kmsClient);

function mockKms(): void {
  kms.reset();
  kms.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) =>
    Promise.resolve({ KeyId: KEY_ARN, Plaintext: new Uint8Array(DATA_KEY), CiphertextBlob: fakeBlob(input.EncryptionContext) }),
  );
  // Through a promise, as the real client's send is: a refusal is a rejected promise, not a throw.
  kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => Promise.resolve(input).then(decryptAsKms));
}

function decryptAsKms(input: DecryptCommandInput): DecryptCommandOutput {
  let made: { key: string; context: Record<string, string> } | undefined;
  try {
    made = JSON.parse(Buffer.from(input.CiphertextBlob ?? []).toString('utf8')) as typeof made;
  } catch {
    made = undefined;
  }
  // As KMS: the context must match exactly (no more, no fewer pairs), and a KeyId, if given, must be the blob's key.
  const sameContext = made !== undefined && JSON.stringify(sortKeys(made.context)) === JSON.stringify(sortKeys(input.EncryptionContext ?? {}));
  const sameKey = input.KeyId === undefined || input.KeyId === KEY_ID || input.KeyId === KEY_ARN;
  if (!made || made.key !== KEY_ARN || !sameContext || !sameKey) throw new InvalidCiphertextException({ message: 'The ciphertext is invalid.', $metadata: {} });
  return { KeyId: KEY_ARN, Plaintext: new Uint8Array(DATA_KEY), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', $metadata: {} };
}

function sortKeys(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}

// --- the two tables -----------------------------------------------------------------------------

const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs?: number }) => Server;
let server: Server;
let dynamo: DynamoDBClient;
let n = 0;
const root = mkdtempSync(join(tmpdir(), 'slipway-kms-env-'));

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dynamo = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' } });
});

afterAll(async () => {
  dynamo?.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  kms.restore();
});

interface Fixture {
  readonly table: RecordTable;
  /** Everything the table holds, as stored (file contents, or DynamoDB items as the API returns them). */
  readonly raw: () => Promise<string>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

const tables: { name: string; fresh: () => Promise<Fixture> }[] = [
  {
    name: 'FileRecordTable',
    fresh: () => {
      const dir = join(root, `t${n++}`);
      return Promise.resolve({ table: new FileRecordTable(dir), raw: () => Promise.resolve(filesUnder(dir).map((f) => readFileSync(f, 'utf8')).join('\n')) });
    },
  },
  {
    name: 'DynamoRecordTable (dynalite)',
    fresh: async () => {
      const name = `env-${n++}`;
      await dynamo.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', ...recordTableSchema }));
      while ((await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE') await sleep(5);
      return { table: new DynamoRecordTable(dynamo, name), raw: async () => JSON.stringify((await dynamo.send(new ScanCommand({ TableName: name, ConsistentRead: true }))).Items) };
    },
  },
];

// --- the tests ----------------------------------------------------------------------------------

describe.each(tables)('KmsEnvStore over $name (KMS: aws-sdk-client-mock)', ({ fresh }) => {
  beforeEach(mockKms);

  async function setup(): Promise<Fixture & { store: KmsEnvStore }> {
    const f = await fresh();
    return { ...f, store: new KmsEnvStore(f.table, kmsClient, KEY_ID) };
  }

  it('round-trips values through versions, and version 0 is the empty environment', async () => {
    const { store } = await setup();
    expect(await store.current('shop')).toEqual({ version: 0, values: {} });
    expect(await store.set('shop', VALUES)).toBe(1);
    expect(await store.set('shop', { ...VALUES, PLAIN: 'off', EMPTY: '', UNICODE: 'grüße ✓ 𝄞' })).toBe(2);
    expect(await store.current('shop')).toEqual({ version: 2, values: { ...VALUES, PLAIN: 'off', EMPTY: '', UNICODE: 'grüße ✓ 𝄞' } });
    expect(await store.get('shop', 1)).toEqual(VALUES);
    expect(await store.get('shop', 0)).toEqual({});
    await expect(store.get('shop', 3)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stores no value and no variable name in plain text, only the sealed envelope', async () => {
    const { store, table, raw } = await setup();
    await store.set('shop', VALUES);
    const stored = await raw();
    for (const [name, value] of Object.entries(VALUES)) {
      expect(stored).not.toContain(value);
      expect(stored).not.toContain(name);
    }
    // Nor the plaintext data key, in any encoding.
    for (const encoding of ['base64', 'hex'] as const) expect(stored).not.toContain(DATA_KEY.toString(encoding));
    const record = await table.get<Record<string, unknown>>({ partition: 'env#shop', sort: '0000000001' });
    expect(Object.keys(record?.value ?? {}).sort()).toEqual(['ciphertext', 'dataKey', 'iv', 'scheme', 'tag']);
  });

  it('asks KMS for one AES-256 data key per version, under the rack key, bound to { app, version }', async () => {
    const { store } = await setup();
    await store.set('shop', VALUES);
    await store.set('shop', { A: 'b' });
    const generated = kms.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input);
    expect(generated).toEqual([
      { KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: { app: 'shop', version: '1' } },
      { KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: { app: 'shop', version: '2' } },
    ]);
    await store.get('shop', 1);
    const decrypts = kms.commandCalls(DecryptCommand).map((c) => c.args[0].input);
    expect(decrypts).toHaveLength(1);
    expect(decrypts[0]).toMatchObject({ KeyId: KEY_ID, EncryptionContext: { app: 'shop', version: '1' } });
    expect(decrypts[0]?.CiphertextBlob).toBeInstanceOf(Uint8Array);
  });

  it('refuses a sealed record copied to another app or another version', async () => {
    const { store, table } = await setup();
    await store.set('shop', VALUES);
    await store.set('other', { MINE: 'x' });
    await store.set('other', { MINE: 'y' });
    const sealed = (await table.get({ partition: 'env#shop', sort: '0000000001' }))!.value;
    // The attacker (or a bad restore) overwrites other's version 1, and shop's version 2, with shop's version 1.
    const o1 = (await table.get({ partition: 'env#other', sort: '0000000001' }))!;
    expect(await table.put({ partition: 'env#other', sort: '0000000001' }, sealed, o1.version)).toBeDefined();
    expect(await table.put({ partition: 'env#shop', sort: '0000000002' }, sealed, undefined)).toBeDefined();
    const err = await store.get('other', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvEncryptionError);
    expect(err).toMatchObject({ code: 'ENV_DECRYPT_FAILED', context: { app: 'other', version: 1, keyId: KEY_ID } });
    expect((err as Error).message).toMatch(/InvalidCiphertextException/);
    await expect(store.get('shop', 2)).rejects.toMatchObject({ code: 'ENV_DECRYPT_FAILED', context: { app: 'shop', version: 2 } });
    expect(kms.commandCalls(DecryptCommand).map((c) => c.args[0].input.EncryptionContext)).toEqual([
      { app: 'other', version: '1' },
      { app: 'shop', version: '2' },
    ]);
    // The original still opens.
    expect(await store.get('shop', 1)).toEqual(VALUES);
  });

  it('refuses a record whose ciphertext was altered, and one that is not sealed at all', async () => {
    const { store, table } = await setup();
    await store.set('shop', VALUES);
    const k = { partition: 'env#shop', sort: '0000000001' };
    const r = (await table.get<Record<string, string>>(k))!;
    const ct = Buffer.from(r.value['ciphertext']!, 'base64');
    ct[0]! ^= 1;
    await table.put(k, { ...r.value, ciphertext: ct.toString('base64') }, r.version);
    await expect(store.get('shop', 1)).rejects.toMatchObject({ code: 'ENV_DECRYPT_FAILED', message: expect.stringMatching(/does not authenticate/) as unknown });
    await table.put({ partition: 'env#shop', sort: '0000000002' }, { LEGACY: 'plain' }, undefined);
    await expect(store.get('shop', 2)).rejects.toMatchObject({ code: 'ENV_DECRYPT_FAILED', message: expect.stringMatching(/not KMS-sealed/) as unknown });
  });

  it('writes nothing when KMS refuses a data key, and says why without any value', async () => {
    const { store, table } = await setup();
    await store.set('shop', { OLD: 'old-value' });
    // KMS does not model AccessDeniedException; the SDK throws it as a KMSServiceException with that name.
    const denied = new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'User is not authorized to perform: kms:GenerateDataKey' });
    kms.on(GenerateDataKeyCommand).rejects(denied);
    const err = await store.set('shop', VALUES).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENV_ENCRYPT_FAILED', context: { app: 'shop', version: 2, keyId: KEY_ID } });
    expect((err as Error).message).toMatch(/AccessDeniedException/);
    for (const value of Object.values(VALUES)) expect(JSON.stringify({ m: (err as Error).message, c: (err as EnvEncryptionError).context })).not.toContain(value);
    mockKms();
    expect(await store.current('shop')).toEqual({ version: 1, values: { OLD: 'old-value' } });
    expect(await table.get({ partition: 'env#shop', sort: '0000000002' })).toBeUndefined();
  });

  it('seals each version under its own context when writers race (a retry re-seals for its new version)', async () => {
    const { store } = await setup();
    const versions = await Promise.all([1, 2, 3, 4].map((i) => store.set('shop', { WRITER: `w${i}` })));
    // Distinct versions; a writer that lost a race may leave a gap (a version record no head points at).
    expect(new Set(versions).size).toBe(4);
    for (const [i, v] of versions.entries()) expect(await store.get('shop', v)).toEqual({ WRITER: `w${i + 1}` });
  });
});
