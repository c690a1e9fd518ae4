/**
 * The persistence a release store needs, and all an adapter implements: versioned JSON records
 * with compare-and-set writes. DynamoDB does this with condition expressions on a version
 * attribute; the local rack with one file per record, replaced atomically.
 */

export interface RecordKey {
  /** Records of one partition can be listed together (DynamoDB's partition key). */
  readonly partition: string;
  readonly sort: string;
}

export interface StoredRecord<T = unknown> {
  readonly key: RecordKey;
  readonly value: T;
  /** Increases by one on every write; 1 after creation. */
  readonly version: number;
}

export interface RecordTable {
  get<T>(key: RecordKey): Promise<StoredRecord<T> | undefined>;
  /**
   * Write `value` if the record's version is `expectedVersion`, or if it does not exist when
   * `expectedVersion` is undefined. Returns the stored record, or undefined when the condition
   * failed (someone else wrote first).
   */
  put<T>(key: RecordKey, value: T, expectedVersion: number | undefined): Promise<StoredRecord<T> | undefined>;
  /** Delete the record if its version is `expectedVersion`; false when it changed or is gone. */
  delete(key: RecordKey, expectedVersion: number): Promise<boolean>;
  /** Records of a partition whose sort key starts with `sortPrefix`, in sort-key order. */
  query<T>(partition: string, sortPrefix: string): Promise<StoredRecord<T>[]>;
}
