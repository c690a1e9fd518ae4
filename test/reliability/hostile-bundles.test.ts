/**
 * Hostile bundles are refused, by name, with nothing written outside the extraction folder.
 *
 * One catalogue of archives (test/support/hostile-tar.ts) is aimed at a sentinel folder next to
 * the extraction folder: paths and links that climb out, absolute paths and links, hard links to
 * a "secret" file outside, devices and fifos, a file 10,000 folders deep, a name too long for the
 * file system, a 1 GiB convox.yml and a 3 GiB decompression bomb (each a few MB of gzip). Each
 * archive goes into the extractor, then through the local rack's front door (`rack.deploy` and
 * the HTTP API the CLI uses), where the deploy must fail with a Bundle Rejected event naming the
 * entry and the rule, while the release deployed before keeps serving. After every refusal the
 * sentinel folder is empty, the secret has no new link, and nothing changed around the state.
 *
 * test/pipeline/extract-bundle.test.ts covers the extractor's ordinary refusals one by one; this
 * suite adds the cases it does not have and the way in through a rack.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRackConnection } from '../../lib/cli/racks/local-rack-connection';
import { RackApiServer } from '../../lib/local/rack/api-server';
import { LocalRack } from '../../lib/local/rack/local-rack';
import { MAX_MANIFEST_BYTES } from '../../lib/manifest';
import { BundleRejectedError, DEFAULT_BUNDLE_LIMITS, extractBundle } from '../../lib/pipeline/bundle/extract';
import type { BundleLimits } from '../../lib/pipeline/bundle/extract';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { TarEntry } from '../../lib/pipeline/bundle/tar-writer';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { getVia } from '../support/router-get';
import type { Aim, HostileBundle } from '../support/hostile-tar';
import { deepPath, END, gzipBomb, hostileBundles, MANIFEST_ENTRY, paxHeader, rawHeader, tarPrefix, treeSnapshot } from '../support/hostile-tar';

/** A folder holding an empty sentinel folder and a secret file, aimed at from `depth` folders below. */
function arena(prefix: string, depth: number): Aim & { base: string } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const sentinel = join(base, 'sentinel');
  mkdirSync(sentinel);
  const secret = join(base, 'secret.txt');
  writeFileSync(secret, 'the rack must never link or copy this\n');
  const up = Array<string>(depth).fill('..').join('/');
  return { base, sentinel, secret, up: `${up}/sentinel`, secretUp: `${up}/secret.txt` };
}

/** Nothing got out: the sentinel is empty and the secret has no second name. */
function expectNothingOutside(aim: Aim): void {
  expect(treeSnapshot(aim.sentinel), 'nothing was written into the sentinel folder').toEqual([]);
  expect(lstatSync(aim.secret).nlink, 'the secret file gained no hard link').toBe(1);
}

async function refusal(archive: Buffer, dest: string, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<BundleRejectedError> {
  try {
    await extractBundle(Readable.from([archive]), dest, limits);
  } catch (e) {
    if (e instanceof BundleRejectedError) return e;
    throw e;
  }
  throw new Error('expected the bundle to be refused');
}

describe('hostile bundles, into the extractor', () => {
  // Extraction folders are two levels below the arena: base/x/out-N.
  const aim = arena('slipway-hostile-', 2);
  const outside = (): string[] => treeSnapshot(aim.base).filter((p) => !p.startsWith('x/'));
  let before: string[];
  let n = 0;
  const fresh = (): string => {
    mkdirSync(join(aim.base, 'x'), { recursive: true });
    return join(aim.base, 'x', `out-${n++}`);
  };

  beforeAll(() => {
    before = outside();
  });
  afterAll(() => rmSync(aim.base, { recursive: true, force: true }));

  for (const gzip of [true, false]) {
    for (const bundle of hostileBundles(aim, { gzip })) {
      // The bombs are gzip by nature; the plain variants of the others show gzip is not what stops them.
      if (!gzip && bundle.reason === 'too-large') continue;
      it(`refuses ${bundle.name}${gzip ? '' : ' (plain tar)'}: ${bundle.reason}, naming ${bundle.entry.slice(0, 40)}`, async () => {
        const dest = fresh();
        const error = await refusal(bundle.archive, dest);
        expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: bundle.reason, entry: bundle.entry });
        expect(error.message).toMatch(bundle.rule);
        expect(lstatSync(dest, { throwIfNoEntry: false }), 'a refused bundle leaves nothing behind').toBeUndefined();
        expectNothingOutside(aim);
        expect(outside()).toEqual(before);
      });
    }
  }

  it('refuses a 10,000-deep directory made of 10,000 folder entries, at the folder that passes the path limit', async () => {
    // Made as it is read (the whole archive would be 100 MB of names): the extractor stops early.
    function* archive(): Generator<Buffer> {
      yield tarPrefix([MANIFEST_ENTRY]);
      for (let depth = 1; depth <= 10_000; depth++) yield tarPrefix([{ name: `${deepPath(depth, '').slice(0, -1)}/`, type: '5' }]);
      yield END;
    }
    const dest = fresh();
    let error: unknown;
    await extractBundle(Readable.from(archive()), dest).catch((e: unknown) => (error = e));
    if (!(error instanceof BundleRejectedError)) throw new Error(`expected a refusal, got ${String(error)}`);
    expect(error.reason).toBe('bad-path');
    // a/a/.../a is 2 * depth - 1 characters: the first folder past 1,024 characters is 513 deep.
    expect(error.entry).toBe(deepPath(513, '').slice(0, 80));
    expect(lstatSync(dest, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('extracts files 500 folders deep, checking each folder once (a path used to cost its depth squared per entry)', async () => {
    const folder = deepPath(500, '').slice(0, -1);
    const entries: TarEntry[] = [MANIFEST_ENTRY, ...Array.from({ length: 100 }, (_, i) => ({ name: `${folder}/${i}`, body: 'x' })), { name: `${folder}/link`, type: '2', linkname: '0' }];
    const dest = fresh();
    const out = await extractBundle(Readable.from([tarArchive(entries)]), dest);
    expect(out.files).toBe(101);
    expect(lstatSync(join(dest, folder, '99')).isFile()).toBe(true);
    expect(lstatSync(join(dest, folder, 'link')).isSymbolicLink()).toBe(true);
    rmSync(dest, { recursive: true });
  });

  it('counts the folders entries imply: one deep path is as many entries as its folders', async () => {
    const limits = { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 50 };
    const deep = await refusal(tarArchive([MANIFEST_ENTRY, { name: deepPath(60), body: 'x' }]), fresh(), limits);
    expect({ reason: deep.reason, entry: deep.entry }).toEqual({ reason: 'too-many-entries', entry: deepPath(60) });
    expect(deep.message).toMatch(/more than 50 entries \(counting the folders they imply\)/);
    // The same number of folders, made one entry at a time, is refused the same way.
    const folders = Array.from({ length: 60 }, (_, i) => ({ name: deepPath(i + 1, '').slice(0, -1), type: '5' }));
    expect((await refusal(tarArchive([MANIFEST_ENTRY, ...folders]), fresh(), limits)).reason).toBe('too-many-entries');
    // Within the limit, it extracts.
    const ok = fresh();
    await extractBundle(Readable.from([tarArchive([MANIFEST_ENTRY, { name: deepPath(40), body: 'x' }])]), ok, limits);
    rmSync(ok, { recursive: true });
  });

  it('refuses many tiny entries past the limit, leaving none of them', async () => {
    // convox.yml, the implied folder tiny, then tiny/0 ... tiny/297 make 300.
    const entries: TarEntry[] = [MANIFEST_ENTRY, ...Array.from({ length: 1_000 }, (_, i) => ({ name: `tiny/${i}`, body: 'x' }))];
    const dest = fresh();
    const error = await refusal(tarArchive(entries), dest, { ...DEFAULT_BUNDLE_LIMITS, maxEntries: 300 });
    expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: 'too-many-entries', entry: 'tiny/298' });
    expect(lstatSync(dest, { throwIfNoEntry: false })).toBeUndefined();
  });

  it(`takes a convox.yml of exactly the manifest limit (${MAX_MANIFEST_BYTES} bytes by default) and refuses one byte more`, async () => {
    expect(DEFAULT_BUNDLE_LIMITS.maxManifestBytes).toBe(MAX_MANIFEST_BYTES);
    const limits = { ...DEFAULT_BUNDLE_LIMITS, maxManifestBytes: 4096 };
    const ok = fresh();
    await extractBundle(Readable.from([tarArchive([{ name: 'convox.yml', body: Buffer.alloc(4096, 0x20) }])]), ok, limits);
    rmSync(ok, { recursive: true });
    const error = await refusal(tarArchive([{ name: 'convox.yml', body: Buffer.alloc(4097, 0x20) }]), fresh(), limits);
    expect({ reason: error.reason, entry: error.entry, message: error.message }).toEqual({
      reason: 'too-large',
      entry: 'convox.yml',
      message: "the bundle's convox.yml is 4097 bytes, more than the limit of 4096 bytes for a manifest",
    });
    // Only the manifest at the root is the manifest: a large one elsewhere is just a file.
    const nested = fresh();
    await extractBundle(Readable.from([tarArchive([MANIFEST_ENTRY, { name: 'docs/convox.yml', body: Buffer.alloc(8192, 0x20) }])]), nested, limits);
    rmSync(nested, { recursive: true });
  });

  it('bounds decompression even when nothing is written: a stream of metadata headers is refused at the limit', async () => {
    // Global pax headers (1 MiB each) are read and dropped; only the decompression limit stops them.
    const meta = Buffer.concat([rawHeader({ name: 'g', type: 'g', size: 1024 * 1024 }), Buffer.alloc(1024 * 1024)]);
    const archive = gzipSync(Buffer.concat([tarPrefix([MANIFEST_ENTRY]), ...Array<Buffer>(20).fill(meta), END]));
    const limits = { ...DEFAULT_BUNDLE_LIMITS, maxExtractedBytes: 4 * 1024 * 1024, maxEntries: 10 };
    const error = await refusal(archive, fresh(), limits);
    expect(error.reason).toBe('too-large');
    expect(error.message).toMatch(/expands to more than/);
  });

  it('passes over a folder entry with a 128 MiB body in pieces (it used to be read into memory whole)', async () => {
    // Folder bodies mean nothing, but the limits let one be 2 GiB: buffered, that took 4 GB of memory.
    const body = 128;
    // The zeros after the body end the archive: an end marker is zeros.
    const archive = gzipBomb(Buffer.concat([tarPrefix([MANIFEST_ENTRY]), rawHeader({ name: 'folder/', type: '5', size: body * 1024 * 1024 })]), body + 1);
    const start = process.memoryUsage().rss;
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const dest = fresh();
    try {
      const out = await extractBundle(Readable.from([archive]), dest);
      expect(out.files).toBe(1);
    } finally {
      clearInterval(sampler);
    }
    expect(lstatSync(join(dest, 'folder')).isDirectory()).toBe(true);
    expect(peak - start, 'memory held while passing over the body').toBeLessThan((body / 2) * 1024 * 1024);
    rmSync(dest, { recursive: true });
  });

  it('refuses a pax header that renames an entry to an absolute path, whatever the header says', async () => {
    const archive = gzipSync(Buffer.concat([tarPrefix([MANIFEST_ENTRY]), paxHeader({ path: `${aim.sentinel}/pax-absolute` }), rawHeader({ name: 'fine.txt', type: '0' }), END]));
    const error = await refusal(archive, fresh());
    expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: 'absolute-path', entry: `${aim.sentinel}/pax-absolute` });
    expectNothingOutside(aim);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the local rack's front door.
// ---------------------------------------------------------------------------------------------

const APP = 'target';
const MANIFEST = 'services:\n  web:\n    build: .\n    port: 3000\n    health:\n      path: /health\n      grace: 0\n      interval: 1\n';
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : 'good release'));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
const GOOD = tarArchive([
  { name: 'convox.yml', body: MANIFEST },
  { name: 'Dockerfile', body: 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n' },
  { name: 'server.js', body: SERVER },
]);

describe('hostile bundles, through the local rack (rack.deploy and the HTTP API the CLI uses; real builds and processes)', () => {
  // The rack extracts into <state>/work/<execution>: three levels below the arena.
  const aim = arena('slipway-hostile-rack-', 3);
  const stateDir = join(aim.base, 'state');
  const outside = (): string[] => treeSnapshot(aim.base).filter((p) => !p.startsWith('state/'));
  const events: SlipwayEvent[] = [];
  let rack: LocalRack;
  let api: RackApiServer;
  let conn: LocalRackConnection;
  let before: string[];
  let release: string | undefined;

  const serving = (): Promise<{ status: number; body: string }> => getVia(rack.router.port, `web.${APP}.localhost`);

  /** A refused deploy: failed as BundleRejected, with the event naming the entry and the rule; nothing left or leaked. */
  async function expectRejected(execution: string, bundle: HostileBundle, outcome: { status: string; error?: string }): Promise<void> {
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'BundleRejected' });
    const rejected = events.filter((e) => e.detail.execution === execution && e['detail-type'] === 'Bundle Rejected');
    expect(rejected).toHaveLength(1);
    const reason = String(rejected[0]?.detail.reason);
    expect(reason).toContain(bundle.entry.slice(0, 40));
    expect(reason).toMatch(bundle.rule);
    expect(events.some((e) => e.detail.execution === execution && e['detail-type'] === 'Build Started'), 'nothing was built').toBe(false);
    expect(lstatSync(join(stateDir, 'work', execution), { throwIfNoEntry: false }), 'the extraction folder is gone').toBeUndefined();
    expectNothingOutside(aim);
    expect(outside()).toEqual(before);
    expect((await rack.store.requireApp(APP)).release, 'the release stays current').toBe(release);
  }

  beforeAll(async () => {
    rack = await LocalRack.start({ stateDir, deploy: { bakeSeconds: 1, progressDeadlineSeconds: 20 }, waitMs: 100, onEvent: (e) => events.push(e) });
    api = new RackApiServer(rack, () => undefined);
    await api.start();
    conn = await LocalRackConnection.connect(stateDir);
    await rack.createApp(APP);
    const { execution } = await rack.deploy(APP, GOOD);
    expect(await rack.outcome('Deploy', execution)).toMatchObject({ status: 'SUCCEEDED' });
    release = (await rack.store.requireApp(APP)).release;
    before = outside();
  }, 120_000);

  afterAll(async () => {
    await api.stop();
    await rack.stop();
    rmSync(aim.base, { recursive: true, force: true });
  }, 60_000);

  it('serves the good release deployed first', async () => {
    expect(release).toBeDefined();
    expect(await serving()).toEqual({ status: 200, body: 'good release' });
  });

  for (const bundle of hostileBundles(aim)) {
    it(`rack.deploy refuses ${bundle.name}`, async () => {
      const { execution } = await rack.deploy(APP, bundle.archive);
      await expectRejected(execution, bundle, (await rack.outcome('Deploy', execution)) ?? { status: 'missing' });
    });
  }

  const throughApi = hostileBundles(aim).filter((b) => ['a climbing path hidden in a pax header', 'a hard link to a file outside (absolute)', 'a character device', 'a convox.yml of 1 GiB (a gzip bomb of 1 MB)'].includes(b.name));
  for (const bundle of throughApi) {
    it(`the HTTP API (slipway deploy's upload) refuses ${bundle.name}`, async () => {
      const ref = await conn.upload(APP, bundle.archive, { promote: true, autoRollback: true });
      let status = await conn.execution(ref);
      for (let i = 0; status.status === 'RUNNING' && i < 300; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await conn.execution(ref);
      }
      expect(status).toMatchObject({ status: 'FAILED', error: 'BundleRejected' });
      // The CLI shows the event the rack recorded: the same one the in-process listener saw.
      const recorded = (await conn.events({ execution: ref.name })).find((e) => e['detail-type'] === 'Bundle Rejected');
      expect(String(recorded?.detail.reason)).toMatch(bundle.rule);
      await expectRejected(ref.name, bundle, { status: status.status, ...(status.error !== undefined ? { error: status.error } : {}) });
    });
  }

  it('still serves the good release after every refusal', async () => {
    expect((await rack.store.requireApp(APP)).release).toBe(release);
    expect(await serving()).toEqual({ status: 200, body: 'good release' });
    expectNothingOutside(aim);
  });
});
