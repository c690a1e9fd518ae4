/**
 * Where bundles live (`apps/<app>/bundles/<name>`) and how an upload names its deploy. The name of
 * a deploy's execution is derived from the exact object version, so the same upload, delivered
 * twice, starts one deploy.
 */
import { createHash } from 'node:crypto';
import { SlipwayError } from '../../errors';
import { APP_NAME } from '../domain/model';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Every bundle key starts with this; the AWS rack's trigger rule matches on it. */
export const BUNDLE_PREFIX = 'apps/';

export class BundleKeyError extends SlipwayError {
  constructor(key: string, why: string) {
    super(`${JSON.stringify(key)} is not a bundle key (apps/<app>/bundles/<name>): ${why}`, 'BUNDLE_KEY_INVALID', { key });
  }
}

export function bundleKey(app: string, name: string): string {
  if (!APP_NAME.test(app)) throw new BundleKeyError(`apps/${app}/bundles/${name}`, 'the app name must be lower-case letters, digits and dashes');
  if (!NAME.test(name)) throw new BundleKeyError(`apps/${app}/bundles/${name}`, 'the bundle name may hold letters, digits, dots, dashes and underscores');
  return `apps/${app}/bundles/${name}`;
}

export function parseBundleKey(key: string): { app: string; name: string } {
  const parts = key.split('/');
  if (parts.length !== 4 || parts[0] !== 'apps' || parts[2] !== 'bundles') throw new BundleKeyError(key, 'it is outside the bundle layout');
  const app = parts[1] ?? '';
  const name = parts[3] ?? '';
  if (!APP_NAME.test(app)) throw new BundleKeyError(key, 'the app name must be lower-case letters, digits and dashes');
  if (!NAME.test(name)) throw new BundleKeyError(key, 'the bundle name may hold letters, digits, dots, dashes and underscores');
  return { app, name };
}

/**
 * A Step Functions execution name (at most 80 characters of [A-Za-z0-9-_]) for the deploy of one
 * object version. The same version always gets the same name, and Step Functions refuses to
 * start a second execution with a name in use, which makes a repeated event harmless.
 */
export function deployExecutionName(bucket: string, key: string, version: string): string {
  const { app } = parseBundleKey(key);
  const digest = createHash('sha256').update(`${bucket}\n${key}\n${version}`).digest('hex').slice(0, 24);
  return `deploy-${app.slice(0, 48)}-${digest}`;
}
