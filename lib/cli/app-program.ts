/**
 * The app commands, with Convox's names and flags: apps, deploy, build, builds, releases, env,
 * scale, ps, services, logs, run, test, timers, events. Each takes `--rack/-r` (default
 * `$SLIPWAY_RACK`, else `local`), `--app/-a` where it is about an app (default `.slipway/app`,
 * else the folder's name), and listings take `--output json`.
 */
import type { Command } from 'commander';
import { SlipwayError } from '../errors';
import type { CliIO } from './io';
import { parseOutputFormat } from './output';
import type { AppFlags, RackFlags } from './commands/target';

// Loaded when run: they pull in the pipeline and the AWS SDK.
const apps = () => import('./commands/apps');
const deploy = () => import('./commands/deploy');
const releases = () => import('./commands/releases');
const env = () => import('./commands/env');
const services = () => import('./commands/services');
const run = () => import('./commands/run');
const logs = () => import('./commands/logs');

export function parseDuration(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new SlipwayError(`--since ${value} is not a duration such as 30s, 10m, 2h or 1d`, 'USAGE');
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count > 100) throw new SlipwayError(`--count ${value} is not a whole number from 0 to 100`, 'USAGE');
  return count;
}

function positive(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) === 0) throw new SlipwayError(`${flag} ${value} is not a whole number above 0`, 'USAGE');
    return Number(value);
  };
}

export function rackFlags(cmd: Command): Command {
  return cmd
    .option('-r, --rack <name>', 'the rack: local, or an AWS rack\u2019s name (default $SLIPWAY_RACK, else local)')
    .option('--region <region>', 'an AWS rack\u2019s region (default $AWS_REGION)')
    .option('--state-dir <dir>', 'the local rack\u2019s state folder (default $SLIPWAY_STATE_DIR or ~/.slipway/local)')
    .option('-o, --output <format>', 'table or json', parseOutputFormat);
}

function appFlags(cmd: Command): Command {
  return rackFlags(cmd).option('-a, --app <app>', 'the app (default: .slipway/app, else the current folder\u2019s name)');
}

function waitFlags(cmd: Command): Command {
  return cmd.option('-w, --wait', 'wait until it is done, showing each step (the default)').option('--no-wait', 'return once it has started');
}

type Flags<T = object> = AppFlags & T;

export function registerAppCommands(program: Command, io: CliIO): void {
  const appsCmd = program.command('apps').description('apps: list, create, delete, info, cancel, unpin');
  rackFlags(appsCmd.command('list', { isDefault: true })).description('list apps (APP STATUS RELEASE)').action(async (o: RackFlags) => (await apps()).appsListCommand(io, o));
  appFlags(appsCmd.command('create'))
    .argument('[name]', 'the app (default: the current folder\u2019s name)')
    .description('create an app')
    .action(async (name: string | undefined, o: AppFlags) => (await apps()).appsCreateCommand(io, { ...o, ...(name ? { name } : {}) }));
  waitFlags(rackFlags(appsCmd.command('delete')))
    .argument('<name>')
    .description('delete an app: its processes, timers, releases and builds (resource data is kept)')
    .action(async (name: string, o: RackFlags & { wait?: boolean }) => (await apps()).appsDeleteCommand(io, { ...o, name, wait: o.wait !== false }));
  appFlags(appsCmd.command('info'))
    .argument('[name]')
    .description('an app: status, release, pin, URLs')
    .action(async (name: string | undefined, o: AppFlags) => (await apps()).appsInfoCommand(io, { ...o, ...(name ? { name } : {}) }));
  waitFlags(appFlags(appsCmd.command('cancel')))
    .argument('[name]')
    .description('cancel the app\u2019s running deploy and put back the release that served before it')
    .action(async (name: string | undefined, o: AppFlags & { wait?: boolean }) => (await apps()).appsCancelCommand(io, { ...o, ...(name ? { name } : {}), wait: o.wait !== false }));
  appFlags(appsCmd.command('unpin'))
    .argument('[name]')
    .description('let uploads deploy again after a rollback pinned the app')
    .action(async (name: string | undefined, o: AppFlags) => (await apps()).appsUnpinCommand(io, { ...o, ...(name ? { name } : {}) }));

  const buildFlags = (cmd: Command): Command =>
    waitFlags(appFlags(cmd))
      .argument('[dir]', 'the app\u2019s folder', '.')
      .option('--id', 'print only the release id on stdout (the rest goes to stderr)')
      .option('-d, --description <text>', 'a description kept with the bundle')
      .option('--no-auto-rollback', 'keep a failed release applied instead of rolling back (irreversible migrations)');
  type BuildOpts = Flags<{ id?: boolean; description?: string; autoRollback: boolean; wait?: boolean }>;
  const deployFlags = (dir: string, o: BuildOpts) => ({ ...o, dir, wait: o.wait !== false, id: o.id ?? false, autoRollback: o.autoRollback });
  buildFlags(program.command('deploy'))
    .description('pack, upload, build and roll out; exit 0 deployed, 1 failed, 3 rolled back')
    .action(async (dir: string, o: BuildOpts) => (await deploy()).deployCommand(io, deployFlags(dir, o)));
  buildFlags(program.command('build'))
    .description('pack, upload and build a release without promoting it (prints Build and Release)')
    .action(async (dir: string, o: BuildOpts) => (await deploy()).buildCommand(io, deployFlags(dir, o)));
  buildFlags(program.command('test'))
    .option('--release <id>', 'test this release instead of building one')
    .description('build, then run each service\u2019s test command as a one-off job; exit 1 when one fails')
    .action(async (dir: string, o: BuildOpts & { release?: string }) => (await deploy()).testCommand(io, { ...deployFlags(dir, o), ...(o.release ? { release: o.release } : {}) }));

  const buildsCmd = program.command('builds').description('an app\u2019s builds: list, info, logs');
  appFlags(buildsCmd.command('list', { isDefault: true }))
    .option('-l, --limit <n>', 'at most this many', positive('--limit'))
    .description('list builds (ID STATUS RELEASE STARTED ELAPSED DESCRIPTION)')
    .action(async (o: Flags<{ limit?: number }>) => (await releases()).buildsListCommand(io, o));
  appFlags(buildsCmd.command('info')).argument('<build>').description('a build: status, bundle, images').action(async (build: string, o: AppFlags) => (await releases()).buildsInfoCommand(io, { ...o, build }));
  appFlags(buildsCmd.command('logs')).argument('<build>').description('a build\u2019s output').action(async (build: string, o: AppFlags) => (await releases()).buildsLogsCommand(io, { ...o, build }));

  const releasesCmd = program.command('releases').description('an app\u2019s releases: list, info, manifest, promote, rollback');
  appFlags(releasesCmd.command('list', { isDefault: true }))
    .option('-l, --limit <n>', 'at most this many', positive('--limit'))
    .description('list releases (ID STATUS BUILD CREATED DESCRIPTION)')
    .action(async (o: Flags<{ limit?: number }>) => (await releases()).releasesListCommand(io, o));
  appFlags(releasesCmd.command('info'))
    .argument('<release>')
    .option('--reveal', 'show env values instead of ****')
    .description('a release: build, created, description, env')
    .action(async (release: string, o: Flags<{ reveal?: boolean }>) => (await releases()).releasesInfoCommand(io, { ...o, release, reveal: o.reveal ?? false }));
  appFlags(releasesCmd.command('manifest')).argument('<release>').description('the convox.yml a release was built from').action(async (release: string, o: AppFlags) => (await releases()).releasesManifestCommand(io, { ...o, release }));
  waitFlags(appFlags(releasesCmd.command('promote')))
    .argument('[release]', 'the release (default: the newest)')
    .option('--id', 'print only the release id on stdout')
    .description('roll an existing release out as it is, through the gates')
    .action(async (release: string | undefined, o: Flags<{ wait?: boolean; id?: boolean }>) => (await releases()).releasesPromoteCommand(io, { ...o, ...(release ? { release } : {}), wait: o.wait !== false, id: o.id ?? false }));
  waitFlags(appFlags(releasesCmd.command('rollback')))
    .argument('[release]', 'the release to go back to (default: the one before the current)')
    .option('--id', 'print only the new release\u2019s id on stdout')
    .option('--skip-gates', 'promote without the health gates (emergencies)')
    .option('--reason <text>', 'why, kept with the pin')
    .description('copy an old release forward and roll it out through the Rollback machine; pins the app')
    .action(async (release: string | undefined, o: Flags<{ wait?: boolean; id?: boolean; skipGates?: boolean; reason?: string }>) =>
      (await releases()).releasesRollbackCommand(io, { ...o, ...(release ? { release } : {}), skipGates: o.skipGates ?? false, wait: o.wait !== false, id: o.id ?? false }),
    );

  const envCmd = appFlags(program.command('env'))
    .option('--release <id>', 'the environment a release runs with')
    .description('the app\u2019s environment: KEY=VALUE lines')
    .action(async (o: Flags<{ release?: string }>) => (await env()).envListCommand(io, o));
  appFlags(envCmd.command('get'))
    .argument('<key>')
    .option('--release <id>')
    .description('one value')
    .action(async (key: string, o: Flags<{ release?: string }>) => (await env()).envGetCommand(io, { ...o, key }));
  const changeFlags = (cmd: Command): Command =>
    waitFlags(appFlags(cmd))
      .option('-p, --promote', 'roll the new release out')
      .option('--id', 'print only the new release\u2019s id on stdout');
  type ChangeOpts = Flags<{ promote?: boolean; wait?: boolean; id?: boolean; replace?: boolean }>;
  changeFlags(envCmd.command('set'))
    .argument('<pairs...>', 'KEY=VALUE')
    .option('--replace', 'drop every variable not given')
    .description('set variables: a new release with the new environment (--promote rolls it out)')
    .action(async (pairs: string[], o: ChangeOpts) => (await env()).envSetCommand(io, { ...o, pairs, replace: o.replace ?? false, promote: o.promote ?? false, wait: o.wait !== false, id: o.id ?? false }));
  changeFlags(envCmd.command('unset'))
    .argument('<keys...>', 'KEY')
    .description('remove variables: a new release without them (--promote rolls it out)')
    .action(async (keys: string[], o: ChangeOpts) => (await env()).envUnsetCommand(io, { ...o, keys, promote: o.promote ?? false, wait: o.wait !== false, id: o.id ?? false }));

  waitFlags(appFlags(program.command('scale')))
    .argument('[service]')
    .option('--count <n>', 'processes to run', parseCount)
    .option('--cpu <millicores>', 'CPU per process', positive('--cpu'))
    .option('--memory <MiB>', 'memory per process', positive('--memory'))
    .description('without flags, the table SERVICE DESIRED RUNNING CPU MEMORY; with them, change a service (kept across deploys)')
    .action(async (service: string | undefined, o: Flags<{ count?: number; cpu?: number; memory?: number; wait?: boolean }>) =>
      (await services()).scaleCommand(io, { ...o, ...(service ? { service } : {}), wait: o.wait !== false }),
    );
  appFlags(program.command('ps'))
    .option('-s, --service <service>', 'only this service')
    .option('--release <id>', 'only this release')
    .description('the app\u2019s processes (ID SERVICE STATUS RELEASE STARTED COMMAND)')
    .action(async (o: Flags<{ service?: string; release?: string }>) => (await services()).psCommand(io, o));
  appFlags(program.command('services'))
    .description('the app\u2019s services: URL and internal name')
    .action(async (o: AppFlags) => (await services()).servicesCommand(io, o));

  appFlags(program.command('logs'))
    .option('-s, --service <service>', 'only this service')
    .option('--since <duration>', 'from this long ago: 30s, 10m, 2h, 1d', '2m')
    .option('--filter <text>', 'only lines containing this text')
    .option('--no-follow', 'print what there is and stop')
    .option('--follow', 'keep printing new lines (the default)')
    .description('the app\u2019s logs: every process, with service, process and time')
    .action(async (o: Flags<{ service?: string; since: string; filter?: string; follow?: boolean }>) =>
      (await logs()).logsCommand(io, { ...o, sinceMs: parseDuration(o.since), follow: o.follow !== false }),
    );

  appFlags(program.command('run'))
    .argument('<service>')
    .argument('<command...>', 'the command (quote it, or put it after --)')
    .option('--release <id>', 'run on this release (default: the current one)')
    .option('-d, --detach', 'start it and print the run\u2019s name')
    // Everything after the service is the command, its own flags included (`run web node -e ...`), as with Convox.
    .passThroughOptions()
    .description('run a one-off job in a service\u2019s image and environment; exit 1 when it fails')
    .action(async (service: string, command: string[], o: Flags<{ release?: string; detach?: boolean }>) => (await run()).runCommand(io, { ...o, service, command, detach: o.detach ?? false }));

  const timersCmd = appFlags(program.command('timers'))
    .description('the app\u2019s timers (TIMER SCHEDULE SERVICE COMMAND)')
    .action(async (o: AppFlags) => (await services()).timersCommand(io, o));
  waitFlags(appFlags(timersCmd.command('run')))
    .argument('<timer>')
    .description('run a timer now, through the Timer state machine')
    .action(async (timer: string, o: Flags<{ wait?: boolean }>) => (await services()).timersRunCommand(io, { ...o, timer, wait: o.wait !== false }));

  rackFlags(program.command('events'))
    .option('-a, --app <app>', 'only this app\u2019s events')
    .option('--execution <name>', 'only this pipeline run\u2019s events')
    .option('--since <duration>', 'from this long ago', '1d')
    .option('-l, --limit <n>', 'at most the newest n', positive('--limit'), 50)
    .description('Slipway\u2019s recent events: what the pipeline did')
    .action(async (o: RackFlags & { app?: string; execution?: string; since: string; limit: number }) => (await logs()).eventsCommand(io, { ...o, sinceMs: parseDuration(o.since) }));
}
