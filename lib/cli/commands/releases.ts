/**
 * `releases` (list, info, manifest, promote, rollback) and `builds` (list, info, logs).
 * A promotion rolls an existing release out as it is; a rollback copies an old release forward
 * into a new one and pins the app, as Convox does; both go through the Rollback machine and are
 * followed like a deploy, with the same exit codes.
 */
import { SlipwayError } from '../../errors';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { followExecution } from '../follow';
import { elapsed, printInfo, printList, when } from '../output';
import { failedExitCode, reportFailure } from './deploy';
import type { AppFlags } from './target';
import { appTarget, outputOf } from './target';

export async function releasesListCommand(io: CliIO, flags: AppFlags & { limit?: number }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const current = (await rack.app(app)).release;
  const releases = (await rack.releases(app)).slice(0, flags.limit ?? 20);
  printList(io, outputOf(flags), releases, [
    ['ID', (r) => r.id],
    ['STATUS', (r) => (r.id === current ? 'active' : '')],
    ['BUILD', (r) => r.build],
    ['CREATED', (r) => when(r.createdAt)],
    ['DESCRIPTION', (r) => r.description],
  ], releases.map((r) => ({ ...r, active: r.id === current })));
}

export async function releasesInfoCommand(io: CliIO, flags: AppFlags & { release: string; reveal: boolean }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const release = await rack.release(app, flags.release);
  const env = await rack.env(app, flags.release);
  const keys = Object.keys(env.values).sort();
  // Values are shown only when asked for: a release's info is often pasted into tickets.
  const shown = Object.fromEntries(keys.map((k) => [k, flags.reveal ? (env.values[k] ?? '') : '****']));
  printInfo(
    io,
    outputOf(flags),
    [
      ['Id', release.id],
      ['Build', release.build],
      ['Created', when(release.createdAt)],
      ['Description', release.description],
      ['Env', keys.map((k) => `${k}=${shown[k] ?? ''}`).join('\n     ')],
    ],
    { id: release.id, app: release.app, build: release.build, envVersion: release.envVersion, createdAt: release.createdAt, description: release.description, env: shown },
  );
}

export async function releasesManifestCommand(io: CliIO, flags: AppFlags & { release: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const release = await rack.release(app, flags.release);
  if (!release.manifest) throw new SlipwayError(`no build for release: ${flags.release}`, 'NOT_FOUND', { app, release: flags.release });
  io.stdout.write(release.manifest.endsWith('\n') ? release.manifest : `${release.manifest}\n`);
}

/** Follow a Rollback-machine run (promotion or rollback) to its end; exit 1 when it failed. */
async function followRollbackMachine(io: CliIO, flags: { id?: boolean; wait: boolean }, rack: Awaited<ReturnType<typeof appTarget>>['rack'], app: string, execution: Parameters<typeof followExecution>[2], what: string, successEvent: string): Promise<void> {
  const log = flags.id ? io.stderr : io.stdout;
  if (!flags.wait) {
    log.write(`${what} ${execution.name} started\n`);
    return;
  }
  const result = await followExecution(rack, app, execution, log);
  const release = result.events.find((e) => e['detail-type'] === successEvent)?.detail.release;
  if (result.status.status === 'SUCCEEDED' && release) {
    if (flags.id) io.stdout.write(`${release}\n`);
    else io.stdout.write(`Release: ${release}\n`);
    return;
  }
  await reportFailure(io, rack, app, result, what);
  throw new CommandFailed(failedExitCode(result));
}

export async function releasesPromoteCommand(io: CliIO, flags: AppFlags & { release?: string; wait: boolean; id: boolean }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const execution = await rack.promote(app, flags.release);
  (flags.id ? io.stderr : io.stdout).write(`Promoting ${flags.release ?? 'the newest release'} of ${app}...\n`);
  await followRollbackMachine(io, flags, rack, app, execution, 'promotion', 'Promotion Succeeded');
}

export async function releasesRollbackCommand(io: CliIO, flags: AppFlags & { release?: string; skipGates: boolean; wait: boolean; id: boolean; reason?: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const execution = await rack.rollback(app, { ...(flags.release ? { release: flags.release } : {}), skipGates: flags.skipGates, ...(flags.reason ? { reason: flags.reason } : {}) });
  const log = flags.id ? io.stderr : io.stdout;
  log.write(`Rolling ${app} back to ${flags.release ?? 'the previous release'}...\n`);
  await followRollbackMachine(io, flags, rack, app, execution, 'rollback', 'Rollback Succeeded');
  if (flags.wait) log.write(`The app is pinned: uploads wait until \`slipway apps unpin ${app}\`\n`);
}

export async function buildsListCommand(io: CliIO, flags: AppFlags & { limit?: number }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const releases = await rack.releases(app);
  const builds = (await rack.builds(app)).slice(0, flags.limit ?? 20);
  const releaseOf = (build: string): string => releases.filter((r) => r.build === build).at(-1)?.id ?? '';
  printList(io, outputOf(flags), builds, [
    ['ID', (b) => b.id],
    ['STATUS', (b) => b.status],
    ['RELEASE', (b) => releaseOf(b.id)],
    ['STARTED', (b) => when(b.createdAt)],
    ['ELAPSED', (b) => elapsed(b.createdAt, b.endedAt)],
    ['DESCRIPTION', (b) => b.reason ?? `${b.bundle.key} v${b.bundle.version}`],
  ], builds.map((b) => ({ ...b, release: releaseOf(b.id) })));
}

export async function buildsInfoCommand(io: CliIO, flags: AppFlags & { build: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  const build = (await rack.builds(app)).find((b) => b.id === flags.build);
  if (!build) throw new SlipwayError(`build ${flags.build} not found in app ${app}`, 'NOT_FOUND', { app, build: flags.build });
  printInfo(
    io,
    outputOf(flags),
    [
      ['Id', build.id],
      ['Status', build.status],
      ['Started', when(build.createdAt)],
      ['Elapsed', elapsed(build.createdAt, build.endedAt)],
      ['Bundle', `${build.bundle.key} v${build.bundle.version}`],
      ['Images', build.images.map((i) => `${i.service}=${i.image}${i.reused ? ' (reused)' : ''}`).join('\n        ')],
      ['Reason', build.reason],
    ],
    build,
  );
}

export async function buildsLogsCommand(io: CliIO, flags: AppFlags & { build: string }): Promise<void> {
  const { rack, app } = await appTarget(io, flags);
  io.stdout.write(await rack.buildLogs(app, flags.build));
}
