/**
 * The AWS rack's record store: the RecordTable port on one DynamoDB table. Compare-and-set is a
 * condition expression on the `version` attribute, so two deploys racing for an app's lock are
 * decided by DynamoDB, not by us. Every read is strongly consistent: the deploy lock reads a
 * record and writes it back conditionally, and an eventually consistent read could hand a
 * second deploy a lock record that another deploy has already taken (its write would then fail,
 * but only after it had acted on a stale view).
 *
 * Values are kept as a JSON string attribute `json` rather than a DynamoDB map: no marshalling
 * library is installed (@aws-sdk/util-dynamodb), and a string keeps any JSON value exactly as the
 * local twin does (maps cannot hold `undefined`, lose nothing else but need a codec we would own).
 */
import type { AttributeDefinition, AttributeValue, DynamoDBClient, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SlipwayError } from '../../errors';
import type { RecordKey, RecordTable, StoredRecord } from '../../pipeline/ports/record-table';

const PK = 'pk';
const SK = 'sk';

/**
 * The table's keys, in CreateTable's shape, so the CDK stack and the tests create the same table
 * the adapter reads. Only key attributes are declared: DynamoDB is schemaless for the rest
 * (`version` N, `json` S).
 */
export const recordTableSchema: {
  readonly partitionKey: typeof PK;
  readonly sortKey: typeof SK;
  readonly KeySchema: KeySchemaElement[];
  readonly AttributeDefinitions: AttributeDefinition[];
} = {
  partitionKey: PK,
  sortKey: SK,
  KeySchema: [
    { AttributeName: PK, KeyType: 'HASH' },
    { AttributeName: SK, KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: PK, AttributeType: 'S' },
    { AttributeName: SK, AttributeType: 'S' },
  ],
};

/** A DynamoDB call failed for a reason other than a lost compare-and-set. Names the table and key, never the value. */
export class RecordTableError extends SlipwayError {
  constructor(message: string, code: string, context: { table: string; partition: string; sort?: string; operation: string }, cause?: unknown) {
    super(message, code, context, { cause });
  }
}

export interface DynamoRecordTableOptions {
  /** Items per Query page; DynamoDB's own limit (1 MB a page) applies regardless. For tests of pagination. */
  readonly pageSize?: number;
}

// `version` is aliased in every expression: it costs nothing and keeps the expressions valid
// whatever DynamoDB adds to its reserved words.
const VERSION_NAMES = { '#v': 'version' };

export class DynamoRecordTable implements RecordTable {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoRecordTableOptions = {},
  ) {}

  async get<T>(key: RecordKey): Promise<StoredRecord<T> | undefined> {
    const out = await this.call('GetItem', key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.itemKey(key), ConsistentRead: true })));
    return out.Item && this.record<T>(key, out.Item);
  }

  async put<T>(key: RecordKey, value: T, expectedVersion: number | undefined): Promise<StoredRecord<T> | undefined> {
    const version = (expectedVersion ?? 0) + 1;
    const json = JSON.stringify(value);
    if (json === undefined) throw new RecordTableError(`cannot store a value that is not JSON in table ${this.tableName}`, 'INVALID_RECORD', this.context('PutItem', key));
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: `attribute_not_exists(${PK})` }
        : { ConditionExpression: '#v = :expected', ExpressionAttributeNames: VERSION_NAMES, ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } } };
    const written = await this.conditional('PutItem', key, () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...this.itemKey(key), version: { N: String(version) }, json: { S: json } }, ...condition })),
    );
    return written ? { key, value, version } : undefined;
  }

  async delete(key: RecordKey, expectedVersion: number): Promise<boolean> {
    return this.conditional('DeleteItem', key, () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.itemKey(key),
          // A missing item has no `version`, so the comparison is false and a second delete reports false.
          ConditionExpression: '#v = :expected',
          ExpressionAttributeNames: VERSION_NAMES,
          ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
        }),
      ),
    );
  }

  async query<T>(partition: string, sortPrefix: string): Promise<StoredRecord<T>[]> {
    this.checkPart('Query', partition, 'partition');
    const out: StoredRecord<T>[] = [];
    // DynamoDB refuses an empty string as a key value, even in begins_with, so "all of the partition" is just the partition.
    const byPrefix = sortPrefix !== '';
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call('Query', { partition }, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: byPrefix ? `${PK} = :pk AND begins_with(${SK}, :prefix)` : `${PK} = :pk`,
            ExpressionAttributeValues: { ':pk': { S: partition }, ...(byPrefix ? { ':prefix': { S: sortPrefix } } : {}) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
            Limit: this.options.pageSize,
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(this.record<T>({ partition, sort: this.sortOf(item, partition) }, item));
      start = page.LastEvaluatedKey;
    } while (start);
    // DynamoDB orders sort keys by their UTF-8 bytes, the local twin by UTF-16 code units; they
    // differ only for characters above U+FFFF against U+E000..U+FFFF, but sorting here the same way
    // keeps the two adapters answering identically.
    return out.sort((a, b) => (a.key.sort < b.key.sort ? -1 : a.key.sort > b.key.sort ? 1 : 0));
  }

  private itemKey(key: RecordKey): Record<string, AttributeValue> {
    this.checkPart('key', key.partition, 'partition', key);
    this.checkPart('key', key.sort, 'sort', key);
    return { [PK]: { S: key.partition }, [SK]: { S: key.sort } };
  }

  /** DynamoDB rejects empty key strings with a ValidationException; say so plainly, before the call. */
  private checkPart(operation: string, part: string, which: 'partition' | 'sort', key?: RecordKey): void {
    if (part === '') throw new RecordTableError(`DynamoDB keys cannot be empty: the ${which} key of a record in table ${this.tableName} is ''`, 'INVALID_KEY', this.context(operation, key ?? { partition: part }));
  }

  private sortOf(item: Record<string, AttributeValue>, partition: string): string {
    const sort = item[SK]?.S;
    if (sort === undefined) throw new RecordTableError(`an item of partition ${partition} in table ${this.tableName} has no sort key`, 'STATE_UNREADABLE', this.context('Query', { partition }));
    return sort;
  }

  private record<T>(key: RecordKey, item: Record<string, AttributeValue>): StoredRecord<T> {
    const version = Number(item['version']?.N);
    const json = item['json']?.S;
    if (!Number.isInteger(version) || version < 1 || json === undefined) {
      throw new RecordTableError(`the record ${key.partition}/${key.sort} in table ${this.tableName} is not a Slipway record`, 'STATE_UNREADABLE', this.context('read', key));
    }
    try {
      return { key, value: JSON.parse(json) as T, version };
    } catch (e) {
      // The parser's message can quote the stored text, so it is left out of ours (it stays on `cause`).
      throw new RecordTableError(`the record ${key.partition}/${key.sort} in table ${this.tableName} holds invalid JSON`, 'STATE_UNREADABLE', this.context('read', key), e);
    }
  }

  /** Run a conditional write: true when written, false when its condition failed. */
  private async conditional(operation: string, key: RecordKey, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (e) {
      if ((e as Error | undefined)?.name === 'ConditionalCheckFailedException') return false;
      throw this.failure(operation, key, e);
    }
  }

  private async call<R>(operation: string, key: { partition: string; sort?: string }, send: () => Promise<R>): Promise<R> {
    try {
      return await send();
    } catch (e) {
      throw e instanceof RecordTableError ? e : this.failure(operation, key, e);
    }
  }

  private failure(operation: string, key: { partition: string; sort?: string }, e: unknown): RecordTableError {
    if (e instanceof RecordTableError) return e;
    const err = e as (Error & { $metadata?: { requestId?: string } }) | undefined;
    const where = key.sort === undefined ? key.partition : `${key.partition}/${key.sort}`;
    return new RecordTableError(
      `DynamoDB ${operation} on table ${this.tableName} failed for ${where}: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`,
      'RECORD_TABLE_FAILED',
      { ...this.context(operation, key), ...(err?.$metadata?.requestId ? { requestId: err.$metadata.requestId } : {}) },
      e,
    );
  }

  private context(operation: string, key: { partition: string; sort?: string }): { table: string; partition: string; sort?: string; operation: string } {
    return { table: this.tableName, partition: key.partition, ...(key.sort === undefined ? {} : { sort: key.sort }), operation };
  }
}
