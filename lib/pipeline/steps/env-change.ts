/**
 * Changing an app's environment, with Convox's semantics: every change is a new environment
 * version, and when the app has a release, a new release of the newest build with that version
 * (`env add:FOO change:BAR`). Nothing is promoted here: the caller promotes the release when asked
 * (`slipway env set --promote`, through the Rollback machine).
 *
 * It runs where the values already are (the local rack's server, the CLI against the AWS rack's
 * table and KMS key), never inside a state machine: values must not enter an execution's input
 * or history. For the same reason no error or event here carries a value.
 */
import { SlipwayError } from '../../errors';
import type { ReleaseId } from '../domain/ids';
import { newReleaseId } from '../domain/ids';
import type { Release } from '../domain/model';
import { describeRelease } from '../domain/model';
import type { EnvStore } from '../ports/runtime';
import type { Clock, ReleaseStore } from '../stores/release-store';
import type { RecordEnvStore } from '../stores/env-store';

/** Env var names as Convox accepts them. */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment stores that can write a version: RecordEnvStore, and KmsEnvStore (which is one
 * with a KMS codec). Only the methods used here, so a test or another store can stand in.
 */
export type WritableEnvStore = EnvStore & Pick<RecordEnvStore, 'set'>;

export interface EnvChange {
  /** Keys to set (added or changed). */
  readonly set?: Readonly<Record<string, string>>;
  /** Keys to remove; a key that is not set is ignored, as Convox's `env unset` does. */
  readonly unset?: readonly string[];
  /** Replace the whole environment with `set` (`unset` is then moot). */
  readonly replace?: boolean;
}

export interface EnvChangeDeps {
  readonly store: ReleaseStore;
  readonly env: WritableEnvStore;
  readonly clock: Clock;
}

/** A key that cannot name an environment variable. The message names the key, never a value. */
export class InvalidEnvKeyError extends SlipwayError {
  constructor(app: string, key: string) {
    super(`invalid environment variable name ${JSON.stringify(key)} for app ${app}: use letters, digits and underscores, not starting with a digit`, 'ENV_KEY_INVALID', { app, key });
  }
}

/** A value Slipway cannot store (not a string). Names the key only. */
export class InvalidEnvValueError extends SlipwayError {
  constructor(app: string, key: string) {
    super(`the value of environment variable ${key} for app ${app} must be a string`, 'ENV_VALUE_INVALID', { app, key });
  }
}

/**
 * Apply `change` to the app's environment: a new env version, and a new (unpromoted) release of
 * the newest release's build with it when the app has any release.
 */
export async function changeEnvironment(deps: EnvChangeDeps, app: string, change: EnvChange): Promise<{ envVersion: number; release?: ReleaseId }> {
  const set = change.set ?? {};
  const unset = change.unset ?? [];
  for (const [key, value] of Object.entries(set)) {
    if (!ENV_KEY.test(key)) throw new InvalidEnvKeyError(app, key);
    if (typeof value !== 'string') throw new InvalidEnvValueError(app, key);
  }
  for (const key of unset) if (typeof key !== 'string' || !ENV_KEY.test(key)) throw new InvalidEnvKeyError(app, String(key));
  await deps.store.requireApp(app);

  const before = (await deps.env.current(app)).values;
  const after: Record<string, string> = change.replace ? {} : { ...before };
  if (!change.replace) for (const key of unset) delete after[key];
  Object.assign(after, set);
  const envVersion = await deps.env.set(app, after);

  const newest = newestRelease(await deps.store.listReleases(app));
  if (!newest) return { envVersion };
  const id = newReleaseId();
  await deps.store.putRelease({ id, app, build: newest.build, envVersion, description: describeRelease.env(before, after), createdAt: new Date(deps.clock.now()).toISOString() });
  return { envVersion, release: id };
}

/** The most recently created release (ISO timestamps compare as strings). */
function newestRelease(releases: readonly Release[]): Release | undefined {
  let newest: Release | undefined;
  for (const r of releases) if (!newest || r.createdAt > newest.createdAt) newest = r;
  return newest;
}
