/**
 * Planted secrets: distinctive values a test uses as env values (and passwords the rack made that
 * it reads back), and a scan of everything the rack produced for any of them: text the test saw
 * (CLI output, error messages, events, API answers) and every file under the rack's folders.
 *
 * A value may be where it is kept: the stores a rack legitimately holds secrets in are named,
 * with why, and a hit there is recorded as stored rather than leaked (and the store's files must
 * be private). A secret may also be allowed where the test put it on purpose (`env get` shows a
 * value; a test app that prints one has it in its own log). A hit anywhere else is a leak.
 *
 * Values are `slipway-planted-<purpose>-<hex>`: only [a-z0-9-], so each appears verbatim in JSON,
 * URLs, shell words and log lines, and nothing else in a run can contain one by chance.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface SecretStore {
  /** Matched against a file's path relative to the scanned folder, with `/` separators. */
  readonly pattern: RegExp;
  /** Why the secret legitimately lives there. */
  readonly why: string;
}

/**
 * Where the local rack keeps secrets on purpose. Everything else in its state folder (and in its
 * resources' folder, outside it when the rack runs as root) must hold none.
 */
export const LOCAL_RACK_STORES: readonly SecretStore[] = [
  {
    // lib/pipeline/stores/env-store.ts: the local rack's RecordEnvStore uses plainEnvCodec over FileRecordTable.
    pattern: /^records\/env%23[^/]+\/[^/]+\.json(\.[0-9a-f]+\.tmp)?$/,
    why: 'the env store: the local rack keeps each env version as it is (plainEnvCodec, not sealed by design) in a 0600 record file of its 0700 state folder; `env`, builds and rollouts read the values from here',
  },
  {
    pattern: /^resources\/[^/]+\/[^/]+\/password$/,
    why: 'the resource credential store: the password the rack generated for the resource (0600), read to build the app\u2019s <NAME>_URL and <NAME>_PASS',
  },
  {
    pattern: /^resources\/[^/]+\/[^/]+\/(redis\.conf|client\.cnf|init\.sql|initdb\.pw)$/,
    why: 'the resource server\u2019s own configuration (0600): the server reads its password from this file rather than from its command line, where `ps` would show it (the last three are removed once the server is ready)',
  },
];

/**
 * Files scanned line by line, each line's hits placed at `<location>#<part>`: an app's log, where
 * a line the app printed (`#stdout`) may hold what a line the rack wrote (`#system`) may not.
 */
export interface LineParts {
  readonly pattern: RegExp;
  readonly part: (line: string) => string;
}

export interface PlantOptions {
  /**
   * Locations where this secret may appear on purpose: `text:<source>` for collected text,
   * `file:<root>/<relative path>` for files.
   */
  readonly allowedIn?: readonly RegExp[];
}

interface Secret {
  readonly label: string;
  readonly value: string;
  readonly allowedIn: readonly RegExp[];
}

export interface SecretHit {
  readonly label: string;
  /** `text:<source>` or `file:<root>/<relative path>` (`!gunzip` when found in the decompressed form). */
  readonly location: string;
  readonly encoding: 'plain' | 'base64' | 'base64url';
  /** What surrounds it, with the value itself replaced by `<label>`. */
  readonly excerpt: string;
}

export interface StoreFile {
  readonly location: string;
  readonly why: string;
  readonly mode: number;
}

export interface ScanReport {
  /** Hits outside the stores and outside each secret's allowances. */
  readonly leaks: readonly SecretHit[];
  /** Hits in a store: where the secret is kept. */
  readonly stored: readonly SecretHit[];
  /** Hits where the secret is allowed on purpose. */
  readonly allowed: readonly SecretHit[];
  /** Store files that others than their owner can read or write. */
  readonly exposedStores: readonly StoreFile[];
  readonly storeFiles: readonly StoreFile[];
  readonly filesScanned: number;
  readonly textsScanned: number;
  readonly secrets: number;
}

/** A folder to scan, and the name its files are reported under. */
export interface ScanRoot {
  readonly label: string;
  readonly dir: string;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export class SecretScan {
  private readonly secrets: Secret[] = [];
  private readonly texts: { source: string; text: string }[] = [];

  constructor(
    private readonly stores: readonly SecretStore[] = [],
    private readonly lineParts: readonly LineParts[] = [],
  ) {}

  /** A fresh secret value for `purpose`, watched from now on. */
  plant(purpose: string, options: PlantOptions = {}): string {
    const slug = purpose.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const value = `slipway-planted-${slug}-${randomBytes(12).toString('hex')}`;
    this.watch(`planted ${purpose}`, value, options);
    return value;
  }

  /** Look for a secret the test did not make (a password the rack generated). */
  watch(label: string, value: string, options: PlantOptions = {}): void {
    if (value.length < 8) throw new Error(`secret ${label} is too short to look for without false hits`);
    this.secrets.push({ label, value, allowedIn: options.allowedIn ?? [] });
  }

  get watched(): readonly { readonly label: string; readonly value: string }[] {
    return this.secrets.map(({ label, value }) => ({ label, value }));
  }

  /** Text the run produced (CLI output, an error's message, an event, an API answer). */
  collect(source: string, text: string): void {
    this.texts.push({ source, text });
  }

  /**
   * Watch every password the local rack generated for a resource under `resourceBase`
   * (`resources/<app>/<resource>/password`); returns their labels.
   */
  async watchResourcePasswords(resourceBase: string, options: PlantOptions = {}): Promise<string[]> {
    const root = join(resourceBase, 'resources');
    const labels: string[] = [];
    for (const app of await readdir(root).catch(() => [] as string[])) {
      for (const resource of await readdir(join(root, app)).catch(() => [] as string[])) {
        const password = (await readFile(join(root, app, resource, 'password'), 'utf8').catch(() => '')).trim();
        if (!password) continue;
        const label = `password of resource ${app}/${resource}`;
        if (!this.secrets.some((s) => s.value === password)) this.watch(label, password, options);
        labels.push(label);
      }
    }
    return labels;
  }

  /** Scan the collected text and every regular file under the roots (symlinks are not followed). */
  async scan(roots: readonly ScanRoot[]): Promise<ScanReport> {
    const leaks: SecretHit[] = [];
    const stored: SecretHit[] = [];
    const allowed: SecretHit[] = [];
    const storeFiles: StoreFile[] = [];
    const sort = (hit: SecretHit, store: SecretStore | undefined): void => {
      if (store) stored.push(hit);
      else if (this.secrets.find((s) => s.label === hit.label)?.allowedIn.some((p) => p.test(hit.location))) allowed.push(hit);
      else leaks.push(hit);
    };
    for (const { source, text } of this.texts) for (const hit of this.find(Buffer.from(text, 'utf8'), `text:${source}`)) sort(hit, undefined);
    let filesScanned = 0;
    for (const root of roots) {
      for (const file of await regularFiles(root.dir)) {
        const rel = relative(root.dir, file).split(sep).join('/');
        const location = `file:${root.label}/${rel}`;
        const store = this.stores.find((s) => s.pattern.test(rel));
        let content: Buffer;
        let mode: number;
        try {
          mode = (await lstat(file)).mode & 0o777;
          content = await readFile(file);
        } catch (e) {
          // A file that went between the listing and the read (a lock file, a rotated log).
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        if (store) storeFiles.push({ location, why: store.why, mode });
        filesScanned++;
        const parts = this.lineParts.find((p) => p.pattern.test(rel));
        if (parts) {
          for (const line of content.toString('utf8').split('\n')) {
            if (!line) continue;
            let part: string;
            try {
              part = parts.part(line);
            } catch {
              part = 'unparsed';
            }
            for (const hit of this.find(Buffer.from(line, 'utf8'), `${location}#${part}`)) sort(hit, store);
          }
          continue;
        }
        for (const hit of this.find(content, location)) sort(hit, store);
        if (content[0] === GZIP_MAGIC[0] && content[1] === GZIP_MAGIC[1]) {
          let inflated: Buffer | undefined;
          try {
            inflated = gunzipSync(content);
          } catch {
            // Not gzip after all.
          }
          if (inflated) for (const hit of this.find(inflated, `${location}!gunzip`)) sort(hit, store);
        }
      }
    }
    return {
      leaks,
      stored,
      allowed,
      storeFiles,
      exposedStores: storeFiles.filter((f) => (f.mode & 0o077) !== 0),
      filesScanned,
      textsScanned: this.texts.length,
      secrets: this.secrets.length,
    };
  }

  /**
   * Prove the scan can fail: a secret written into a file under `dir` (plain in one, base64 in
   * another) and into a collected text must each come out as a leak. The files are removed again.
   */
  async selfTest(root: ScanRoot): Promise<{ detected: string[] }> {
    const [first, second] = [this.secrets[0], this.secrets.at(-1)];
    if (!first || !second) throw new Error('nothing planted: the scan would pass vacuously');
    const plainFile = join(root.dir, 'planted-secrets-self-test.log');
    const encodedFile = join(root.dir, 'planted-secrets-self-test.json');
    const probe = new SecretScan(this.stores, this.lineParts);
    probe.secrets.push(...this.secrets);
    probe.collect('self-test', `an error quoting ${first.value} by mistake`);
    await writeFile(plainFile, `2026-01-01T00:00:00Z the rack logged ${first.value}\n`);
    await writeFile(encodedFile, JSON.stringify({ data: { value: Buffer.from(second.value).toString('base64') } }));
    try {
      const report = await probe.scan([root]);
      return { detected: report.leaks.map((l) => `${l.label} at ${l.location.replace(`file:${root.label}/`, '')} (${l.encoding})`).sort() };
    } finally {
      await Promise.all([rm(plainFile, { force: true }), rm(encodedFile, { force: true })]);
    }
  }

  private find(content: Buffer, location: string): SecretHit[] {
    const hits: SecretHit[] = [];
    for (const secret of this.secrets) {
      const forms: [SecretHit['encoding'], string][] = [
        ['plain', secret.value],
        ['base64', Buffer.from(secret.value).toString('base64')],
        ['base64url', Buffer.from(secret.value).toString('base64url')],
      ];
      // One hit per secret and place, in the plainest form found (unpadded base64url is often a prefix of base64).
      for (const [encoding, form] of forms) {
        const at = content.indexOf(form);
        if (at < 0) continue;
        const around = content.subarray(Math.max(0, at - 60), at + form.length + 60).toString('utf8');
        hits.push({ label: secret.label, location, encoding, excerpt: around.split(form).join(`<${secret.label}>`).replace(/\s+/g, ' ') });
        break;
      }
    }
    return hits;
  }
}

/** Every regular file under `dir`, not following symlinks; none when `dir` does not exist. */
async function regularFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await regularFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Hits as lines for an assertion message: where, how encoded, and the redacted context. */
export function describeHits(hits: readonly SecretHit[]): string[] {
  return hits.map((h) => `${h.label} in ${h.location} (${h.encoding}): …${h.excerpt}…`);
}
