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

export class RecordEnvStore implements EnvStore {
  constructor(private readonly table: RecordTable) {}

  async current(app: string): Promise<{ version: number; values: Readonly<Record<string, string>> }> {
    const r = await this.table.get<{ version: number }>(head(app));
    if (!r) return { version: 0, values: {} };
    return { version: r.value.version, values: await this.get(app, r.value.version) };
  }

  async get(app: string, version: number): Promise<Readonly<Record<string, string>>> {
    if (version === 0) return {};
    const r = await this.table.get<Record<string, string>>(key(app, version));
    if (!r) throw new NotFoundError('release', `environment version ${version}`, app);
    return r.value;
  }

  /** Write a new version of the app's environment; returns it. */
  async set(app: string, values: Readonly<Record<string, string>>): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.table.get<{ version: number }>(head(app));
      const version = (current?.value.version ?? 0) + 1;
      if (!(await this.table.put(key(app, version), { ...values }, undefined))) continue;
      if (await this.table.put(head(app), { version }, current?.version)) return version;
    }
    throw new ConflictError(`too much contention on the environment of app ${app}`, { app });
  }
}
