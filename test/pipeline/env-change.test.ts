/** `env set` / `env unset` with Convox's semantics: a new env version, and a new unpromoted release when the app has one (real local record table). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { KmsEnvStore } from '../../lib/aws/adapters/kms-env-store';
import { FileRecordTable } from '../../lib/local/file-record-table';
import type { BuildId, ReleaseId } from '../../lib/pipeline/domain/ids';
import { changeEnvironment, InvalidEnvKeyError } from '../../lib/pipeline/steps/env-change';
import type { WritableEnvStore } from '../../lib/pipeline/steps/env-change';
import { RecordEnvStore } from '../../lib/pipeline/stores/env-store';
import { NotFoundError, ReleaseStore } from '../../lib/pipeline/stores/release-store';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

async function rack(releases: { id: ReleaseId; build: BuildId; createdAt: string }[] = []) {
  const table = new FileRecordTable(mkdtempSync(join(tmpdir(), 'slipway-env-change-')));
  const store = new ReleaseStore(table);
  const env = new RecordEnvStore(table);
  await store.createApp('shop');
  const version = await env.set('shop', { KEEP: 'same-value', CHANGE: 'old-value', DROP: 'gone-value' });
  for (const r of releases) await store.putRelease({ ...r, app: 'shop', envVersion: version, description: `build ${r.build}` });
  return { store, env, deps: { store, env, clock: { now: () => NOW } } };
}

describe('changeEnvironment', () => {
  it('writes a new env version and a release of the newest build with it, described as Convox does, without promoting it', async () => {
    const { store, env, deps } = await rack([
      { id: 'RAAAAAAAAAA', build: 'BOLDOLDOLDO', createdAt: '2025-05-01T00:00:00.000Z' },
      { id: 'RZZZZZZZZZZ', build: 'BNEWESTNEWE', createdAt: '2025-05-02T00:00:00.000Z' },
      { id: 'RMMMMMMMMMM', build: 'BMIDDLEMIDD', createdAt: '2025-05-01T12:00:00.000Z' },
    ]);
    const result = await changeEnvironment(deps, 'shop', { set: { CHANGE: 'new-value', ADDED: 'x1y2' }, unset: ['DROP', 'NEVER_SET'] });
    expect(result).toEqual({ envVersion: 2, release: expect.stringMatching(/^R[A-Z]{10}$/) as unknown });
    expect(await env.current('shop')).toEqual({ version: 2, values: { KEEP: 'same-value', CHANGE: 'new-value', ADDED: 'x1y2' } });
    const release = await store.getRelease('shop', result.release!);
    expect(release).toEqual({ id: result.release, app: 'shop', build: 'BNEWESTNEWE', envVersion: 2, description: 'env add:ADDED change:CHANGE remove:DROP', createdAt: '2025-06-01T12:00:00.000Z' });
    expect((await store.getApp('shop'))?.release).toBeUndefined();
  });

  it('writes only a new env version when the app has no release yet', async () => {
    const { store, env, deps } = await rack();
    expect(await changeEnvironment(deps, 'shop', { set: { ADDED: 'v' } })).toEqual({ envVersion: 2 });
    expect((await env.current('shop')).values).toMatchObject({ ADDED: 'v' });
    expect(await store.listReleases('shop')).toEqual([]);
  });

  it('replaces the whole environment with `set` when asked', async () => {
    const { store, env, deps } = await rack([{ id: 'RAAAAAAAAAA', build: 'BOLDOLDOLDO', createdAt: '2025-05-01T00:00:00.000Z' }]);
    const result = await changeEnvironment(deps, 'shop', { set: { KEEP: 'same-value', ONLY: '1' }, replace: true });
    expect(await env.current('shop')).toEqual({ version: 2, values: { KEEP: 'same-value', ONLY: '1' } });
    expect((await store.getRelease('shop', result.release!))?.description).toBe('env add:ONLY remove:CHANGE,DROP');
  });

  it('refuses a bad key, naming the key and never the value, and changes nothing', async () => {
    const { store, env, deps } = await rack([{ id: 'RAAAAAAAAAA', build: 'BOLDOLDOLDO', createdAt: '2025-05-01T00:00:00.000Z' }]);
    const attempt = changeEnvironment(deps, 'shop', { set: { GOOD: 'fine', '1BAD-KEY': 'super-secret-value' } });
    await expect(attempt).rejects.toBeInstanceOf(InvalidEnvKeyError);
    const error = (await attempt.catch((e: unknown) => e)) as InvalidEnvKeyError;
    expect(error.message).toContain('"1BAD-KEY"');
    expect(error.code).toBe('ENV_KEY_INVALID');
    expect(JSON.stringify({ message: error.message, context: error.context })).not.toContain('super-secret-value');
    await expect(changeEnvironment(deps, 'shop', { unset: ['NO SPACES'] })).rejects.toThrow(/"NO SPACES"/);
    expect((await env.current('shop')).version).toBe(1);
    expect(await store.listReleases('shop')).toHaveLength(1);
  });

  it('takes either rack’s env store: the local one and the AWS rack’s KMS-sealed one', () => {
    expectTypeOf<RecordEnvStore>().toExtend<WritableEnvStore>();
    expectTypeOf<KmsEnvStore>().toExtend<WritableEnvStore>();
  });

  it('requires the app', async () => {
    const { env, deps } = await rack();
    await expect(changeEnvironment(deps, 'nope', { set: { A: 'b' } })).rejects.toBeInstanceOf(NotFoundError);
    expect((await env.current('nope')).version).toBe(0);
  });
});
