/**
 * The local rack's record store: one JSON file per record under a state directory, a folder per
 * partition. A write takes a per-record lock file (created exclusively, so it also excludes other
 * processes), checks the version, writes a temporary file, flushes it and renames it over the
 * record, so a reader sees the old record or the new one, never half of one, even after a crash.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors';
import type { RecordKey, RecordTable, StoredRecord } from '../pipeline/ports/record-table';

/** A lock file older than this belongs to a process that died holding it. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/** Encode a key part as a file name: percent-encoding keeps prefixes, and dots are encoded too. */
function encode(part: string): string {
  return encodeURIComponent(part).replaceAll('.', '%2E').replaceAll('*', '%2A');
}

interface FileContent<T> {
  readonly value: T;
  readonly version: number;
}

export class FileRecordTable implements RecordTable {
  constructor(private readonly dir: string) {}

  private partitionDir(partition: string): string {
    return join(this.dir, encode(partition));
  }

  private file(key: RecordKey): string {
    return join(this.partitionDir(key.partition), `${encode(key.sort)}.json`);
  }

  async get<T>(key: RecordKey): Promise<StoredRecord<T> | undefined> {
    const content = await this.read<T>(this.file(key));
    return content && { key, value: content.value, version: content.version };
  }

  async put<T>(key: RecordKey, value: T, expectedVersion: number | undefined): Promise<StoredRecord<T> | undefined> {
    const path = this.file(key);
    await mkdir(this.partitionDir(key.partition), { recursive: true });
    return this.withLock(path, async () => {
      const current = await this.read<T>(path);
      if ((current?.version ?? undefined) !== expectedVersion) return undefined;
      const version = (current?.version ?? 0) + 1;
      await this.writeAtomically(path, JSON.stringify({ value, version } satisfies FileContent<T>));
      return { key, value, version };
    });
  }

  async delete(key: RecordKey, expectedVersion: number): Promise<boolean> {
    const path = this.file(key);
    return this.withLock(path, async () => {
      const current = await this.read(path);
      if (current?.version !== expectedVersion) return false;
      await unlink(path);
      return true;
    });
  }

  async query<T>(partition: string, sortPrefix: string): Promise<StoredRecord<T>[]> {
    let names: string[];
    try {
      names = await readdir(this.partitionDir(partition));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const prefix = encode(sortPrefix);
    const out: StoredRecord<T>[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || !name.startsWith(prefix)) continue;
      const sort = decodeURIComponent(name.slice(0, -'.json'.length));
      const content = await this.read<T>(join(this.partitionDir(partition), name));
      if (content) out.push({ key: { partition, sort }, value: content.value, version: content.version });
    }
    return out.sort((a, b) => (a.key.sort < b.key.sort ? -1 : a.key.sort > b.key.sort ? 1 : 0));
  }

  private async read<T>(path: string): Promise<FileContent<T> | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as FileContent<T>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SlipwayError(`cannot read the record ${path}: ${(e as Error).message}`, 'STATE_UNREADABLE', { path }, { cause: e });
    }
  }

  private async writeAtomically(path: string, data: string): Promise<void> {
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  }

  private async withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const lock = `${path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        const handle = await open(lock, 'wx', 0o600);
        await handle.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await unlink(lock).catch(() => undefined);
        else if (Date.now() > deadline) throw new SlipwayError(`the record ${path} stayed locked for ${LOCK_WAIT_MS / 1000}s`, 'STATE_BUSY', { path });
        else await sleep(wait + Math.random() * wait);
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}
