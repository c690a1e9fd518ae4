/**
 * The AWS rack's app environments: RecordEnvStore's versioning, with every version's values sealed
 * by KMS envelope encryption before they reach the table. The table (and its backups, exports and
 * anyone with read access to it) never sees a value; reading one needs kms:Decrypt on the rack's key.
 *
 * Per version: KMS makes a fresh AES-256 data key (GenerateDataKey), the values are encrypted under
 * it locally with AES-256-GCM, and only the KMS-encrypted data key, the IV, the GCM tag and the
 * ciphertext are stored. The KMS encryption context `{ app, version }` binds the data key to its
 * record: a sealed blob copied to another app or version fails to decrypt (and CloudTrail logs the
 * app and version of every Decrypt). The same context is the GCM additional data, so the local
 * half is bound the same way.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { SlipwayError } from '../../errors';
import type { RecordTable } from '../../pipeline/ports/record-table';
import type { EnvStore } from '../../pipeline/ports/runtime';
import type { EnvValueCodec } from '../../pipeline/stores/env-store';
import { RecordEnvStore } from '../../pipeline/stores/env-store';

/** Marks a sealed record, so a record of another layout is reported instead of misread. */
const SCHEME = 'kms-envelope/aes-256-gcm';
const IV_BYTES = 12; // GCM's standard nonce size; a fresh random IV per data key
const TAG_BYTES = 16;

/** What an env version's record holds on the AWS rack: no value, and no usable key, in clear. */
export interface SealedEnv {
  readonly scheme: typeof SCHEME;
  /** The data key, encrypted by KMS (GenerateDataKey's CiphertextBlob), base64. */
  readonly dataKey: string;
  readonly iv: string;
  readonly tag: string;
  /** The values as JSON, encrypted with AES-256-GCM under the data key, base64. */
  readonly ciphertext: string;
}

/** Sealing or opening an environment failed. Names the app, version and key, never a value. */
export class EnvEncryptionError extends SlipwayError {
  constructor(message: string, code: 'ENV_ENCRYPT_FAILED' | 'ENV_DECRYPT_FAILED', context: { app: string; version: number; keyId: string }, cause?: unknown) {
    super(message, code, context, { cause });
  }
}

/** KMS wants string values; the version goes in as its decimal text. */
function encryptionContext(app: string, version: number): Record<string, string> {
  return { app, version: String(version) };
}

function isSealed(stored: unknown): stored is SealedEnv {
  if (typeof stored !== 'object' || stored === null) return false;
  const s = stored as Record<string, unknown>;
  return s['scheme'] === SCHEME && ['dataKey', 'iv', 'tag', 'ciphertext'].every((f) => typeof s[f] === 'string');
}

/** The EnvValueCodec that seals values with KMS envelope encryption. */
export class KmsEnvelopeCodec implements EnvValueCodec {
  constructor(
    private readonly kms: KMSClient,
    /** The rack's KMS key: key id, key ARN, alias name or alias ARN. */
    private readonly keyId: string,
  ) {}

  async encode(app: string, version: number, values: Readonly<Record<string, string>>): Promise<SealedEnv> {
    const context = encryptionContext(app, version);
    const { Plaintext: key, CiphertextBlob: dataKey } = await this.call(
      () => this.kms.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: context })),
      (e) => this.failure('ENV_ENCRYPT_FAILED', `cannot get a data key from KMS to encrypt the environment of app ${app} (version ${version})`, app, version, e),
    );
    if (!key || key.length !== 32 || !dataKey) {
      key?.fill(0);
      throw this.failure('ENV_ENCRYPT_FAILED', `KMS returned no usable AES-256 data key for the environment of app ${app} (version ${version})`, app, version);
    }
    try {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(JSON.stringify(context)));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify({ ...values }), 'utf8'), cipher.final()]);
      return { scheme: SCHEME, dataKey: Buffer.from(dataKey).toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
    } finally {
      // The plaintext data key is not needed past this call; do not leave it in the heap.
      key.fill(0);
    }
  }

  async decode(app: string, version: number, stored: unknown): Promise<Readonly<Record<string, string>>> {
    if (!isSealed(stored)) {
      throw this.failure('ENV_DECRYPT_FAILED', `the environment of app ${app} (version ${version}) is not KMS-sealed; refusing to read it as plain text`, app, version);
    }
    const context = encryptionContext(app, version);
    // KeyId pins decryption to the rack's key: a record pointing at some other key the role may use is refused.
    const { Plaintext: key } = await this.call(
      () => this.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(stored.dataKey, 'base64'), KeyId: this.keyId, EncryptionContext: context })),
      (e) => this.failure('ENV_DECRYPT_FAILED', `KMS refused to decrypt the data key of the environment of app ${app} (version ${version})`, app, version, e),
    );
    if (!key || key.length !== 32) {
      key?.fill(0);
      throw this.failure('ENV_DECRYPT_FAILED', `KMS returned no usable data key for the environment of app ${app} (version ${version})`, app, version);
    }
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(stored.iv, 'base64'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(JSON.stringify(context)));
      decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
      plain = Buffer.concat([decipher.update(Buffer.from(stored.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch (e) {
      throw this.failure('ENV_DECRYPT_FAILED', `the environment of app ${app} (version ${version}) does not authenticate: it was altered or belongs elsewhere`, app, version, e);
    } finally {
      key.fill(0);
    }
    // Authenticated, so this is the JSON encode wrote; no parse error can quote a value here.
    return JSON.parse(plain) as Record<string, string>;
  }

  private async call<T>(send: () => Promise<T>, fail: (e: unknown) => EnvEncryptionError): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw fail(e);
    }
  }

  private failure(code: 'ENV_ENCRYPT_FAILED' | 'ENV_DECRYPT_FAILED', message: string, app: string, version: number, cause?: unknown): EnvEncryptionError {
    // KMS and node:crypto messages name keys and reasons, never plaintext, so they can be shown.
    const reason = cause instanceof Error ? `: ${cause.name}: ${cause.message}` : '';
    return new EnvEncryptionError(`${message}${reason}`, code, { app, version, keyId: this.keyId }, cause);
  }
}

/** RecordEnvStore over any RecordTable, with values sealed by KMS (see KmsEnvelopeCodec). */
export class KmsEnvStore extends RecordEnvStore implements EnvStore {
  constructor(table: RecordTable, kms: KMSClient, keyId: string) {
    super(table, new KmsEnvelopeCodec(kms, keyId));
  }
}
