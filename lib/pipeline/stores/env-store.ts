/**
 * App environments, versioned: every change is a new version, and a release names the version it
 * runs with, so rolling back restores the environment too. The AWS rack stores values encrypted
 * with KMS; the local rack keeps them in its state directory, readable by its user only.
 */
import type { RecordTable } from '../ports/record-table';
import type { EnvStore } from '../ports/runtime';
import { ConflictError, NotFoundError } from './release-store';

const key = (app: string, version: number) => ({ partition: `env#${app}`, sort: String(version).padStart(10, '0') });
const head = (app: string) => ({ partition: `env#${app}`, sort: 'current' });

/**
 * How one version's values are kept in its record. The versioning above is the same on every
 * rack; only this differs (as they are on the local rack, sealed with KMS on AWS), so the AWS
 * store plugs a codec in here instead of copying the versioning. Both methods get the app and
 * version so a codec can bind the stored form to them.
 */
export interface EnvValueCodec {
  encode(app: string, version: number, values: Readonly<Record<string, string>>): Promise<unknown>;
  decode(app: string, version: number, stored: unknown): Promise<Readonly<Record<string, string>>>;
}

/** Values stored as they are: the local rack's state directory is readable by its user only. */
export const plainEnvCodec: EnvValueCodec = {
  encode: (_app, _version, values) => Promise.resolve({ ...values }),
  decode: (_app, _version, stored) => Promise.resolve(stored as Readonly<Record<string, string>>),
};

export class RecordEnvStore implements EnvStore {
  constructor(
    private readonly table: RecordTable,
    private readonly codec: EnvValueCodec = plainEnvCodec,
  ) {}

  async current(app: string): Promise<{ version: number; values: Readonly<Record<string, string>> }> {
    const r = await this.table.get<{ version: number }>(head(app));
    if (!r) return { version: 0, values: {} };
    return { version: r.value.version, values: await this.get(app, r.value.version) };
  }

  async get(app: string, version: number): Promise<Readonly<Record<string, string>>> {
    if (version === 0) return {};
    const r = await this.table.get(key(app, version));
    if (!r) throw new NotFoundError('release', `environment version ${version}`, app);
    return this.codec.decode(app, version, r.value);
  }

  /** Write a new version of the app's environment; returns it. */
  /**
   * Every version goes, with the values, so that an app created later under the same name starts
   * with an empty environment instead of inheriting the deleted app's secrets. Returns how many
   * versions were deleted.
   */
  async deleteApp(app: string): Promise<number> {
    let deleted = 0;
    for (const record of await this.table.query(`env#${app}`, '')) {
      if ((await this.table.delete(record.key, record.version)) && record.key.sort !== head(app).sort) deleted++;
    }
    return deleted;
  }

  async set(app: string, values: Readonly<Record<string, string>>): Promise<number> {
    // A version record can exist with the head not pointing at it: a writer that crashed between
    // the two writes, or one still between them. Such a number is skipped (a gap in the versions),
    // never reused, so a crash cannot wedge the app's environment.
    let taken = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.table.get<{ version: number }>(head(app));
      const version = (current?.value.version ?? 0) + 1 + taken;
      // Encoded per attempt: a codec may bind the stored form to the version, which can change on a retry.
      if (!(await this.table.put(key(app, version), await this.codec.encode(app, version, values), undefined))) {
        taken++;
        continue;
      }
      if (await this.table.put(head(app), { version }, current?.version)) return version;
      taken = 0;
    }
    throw new ConflictError(`too much contention on the environment of app ${app}`, { app });
  }
}
