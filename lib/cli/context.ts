/**
 * Which rack and which app a command is about, resolved as Convox resolves them: the flag, then
 * the environment, then a setting kept in the project folder, then a default.
 *
 * - rack: `--rack/-r`, `$SLIPWAY_RACK`, `.slipway/rack` in the current folder, else `local`.
 * - app:  `--app/-a`, `.slipway/app` (or Convox's `.convox/app`), else the current folder's name.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SlipwayError } from '../errors';
import { APP_NAME } from '../pipeline/domain/model';
import { defaultStateDir } from '../local/rack/client';
import type { RackConnection } from './racks/rack-connection';

export const LOCAL_RACK = 'local';

export interface RackOptions {
  readonly rack?: string;
  readonly stateDir?: string;
  readonly region?: string;
}

function setting(cwd: string, names: readonly string[]): string | undefined {
  for (const name of names) {
    try {
      const value = readFileSync(join(cwd, name), 'utf8').trim();
      if (value) return value;
    } catch {
      // No such setting here.
    }
  }
  return undefined;
}

export function rackName(cwd: string, flag?: string): string {
  return flag ?? (process.env.SLIPWAY_RACK || undefined) ?? setting(cwd, ['.slipway/rack']) ?? LOCAL_RACK;
}

export class AppNameError extends SlipwayError {
  constructor(name: string, from: string) {
    super(`${from} gives the app name ${JSON.stringify(name)}, which is not one: app names are lower-case letters, digits and dashes, starting with a letter; pass --app NAME`, 'USAGE', { app: name });
  }
}

export function appName(cwd: string, flag?: string): string {
  if (flag !== undefined) {
    if (!APP_NAME.test(flag)) throw new AppNameError(flag, '--app');
    return flag;
  }
  const saved = setting(cwd, ['.slipway/app', '.convox/app']);
  if (saved !== undefined) {
    if (!APP_NAME.test(saved)) throw new AppNameError(saved, 'the .slipway/app (or .convox/app) file');
    return saved;
  }
  const folder = basename(cwd);
  if (!APP_NAME.test(folder)) throw new AppNameError(folder, `the current folder's name`);
  return folder;
}

/** Connect to the rack a command names: the local rack through its state folder, an AWS rack through its stack. */
export async function openRack(cwd: string, options: RackOptions): Promise<RackConnection> {
  const name = rackName(cwd, options.rack);
  if (name === LOCAL_RACK) {
    const { LocalRackConnection } = await import('./racks/local-rack-connection');
    return LocalRackConnection.connect(defaultStateDir(options.stateDir));
  }
  const { openAwsRack } = await import('./racks/aws-rack-connection');
  return openAwsRack(name, options.region);
}
