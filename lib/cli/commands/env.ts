/**
 * `env`, `env get`, `env set`, `env unset`. As in Convox, a change makes a new release (the
 * newest release's build with the new environment); `--promote` rolls it out. Values are printed
 * only by `env` and `env get`, which exist to show them; nothing else echoes one.
 */
import { SlipwayError } from '../../errors';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { parseAssignment } from '../env-input';
import { followExecution } from '../follow';
import { failedExitCode, reportFailure } from './deploy';
import type { AppFlags } from './target';
import { appTarget, outputOf } from './target';

export async function envListCommand(io: CliIO, flags: AppFlags & { release?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const { values } = await rack.env(app, flags.release);
  if (outputOf(flags) === 'json') {
    io.stdout.write(`${JSON.stringify(values, null, 2)}\n`);
    return;
  }
  for (const key of Object.keys(values).sort()) io.stdout.write(`${key}=${values[key] ?? ''}\n`);
}

export async function envGetCommand(io: CliIO, flags: AppFlags & { key: string; release?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const { values } = await rack.env(app, flags.release);
  const value = values[flags.key];
  if (value === undefined) throw new SlipwayError(`env not found: ${flags.key}`, 'NOT_FOUND', { app, key: flags.key });
  io.stdout.write(`${value}\n`);
}

interface EnvChangeFlags extends AppFlags {
  readonly promote: boolean;
  readonly wait: boolean;
  readonly id: boolean;
}

async function applyChange(io: CliIO, flags: EnvChangeFlags, change: { set?: Record<string, string>; unset?: string[]; replace?: boolean }, what: string): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const log = flags.id ? io.stderr : io.stdout;
  const { envVersion, release } = await rack.changeEnv(app, change);
  log.write(`${what}... OK (env version ${envVersion})\n`);
  if (!release) {
    log.write(`${app} has no release yet: its first deploy uses this environment\n`);
    return;
  }
  if (flags.id) io.stdout.write(`${release}\n`);
  else io.stdout.write(`Release: ${release}\n`);
  if (!flags.promote) return;
  const execution = await rack.promote(app, release);
  log.write(`Promoting ${release}...\n`);
  if (!flags.wait) return;
  const result = await followExecution(rack, app, execution, log);
  if (result.status.status === 'SUCCEEDED') {
    log.write(`Release ${release} serves\n`);
    return;
  }
  await reportFailure(io, rack, app, result, 'promotion');
  throw new CommandFailed(failedExitCode(result));
}

export async function envSetCommand(io: CliIO, flags: EnvChangeFlags & { pairs: string[]; replace: boolean }): Promise<void> {
  const set: Record<string, string> = {};
  for (const pair of flags.pairs) {
    const [key, value] = parseAssignment(pair);
    set[key.trim()] = value;
  }
  if (Object.keys(set).length === 0) throw new SlipwayError('env set needs at least one KEY=VALUE', 'USAGE');
  await applyChange(io, flags, { set, ...(flags.replace ? { replace: true } : {}) }, `Setting ${Object.keys(set).sort().join(', ')}`);
}

export async function envUnsetCommand(io: CliIO, flags: EnvChangeFlags & { keys: string[] }): Promise<void> {
  if (flags.keys.length === 0) throw new SlipwayError('env unset needs at least one KEY', 'USAGE');
  await applyChange(io, flags, { unset: flags.keys }, `Unsetting ${[...flags.keys].sort().join(', ')}`);
}
