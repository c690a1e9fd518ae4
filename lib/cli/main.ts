/** The `slipway` command line. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SlipwayError } from '../errors';
import { showCommand, validateCommand } from './commands/manifest';
import { defaultStateDir } from '../local/rack/client';

// The rack commands load the pipeline and AWS CDK's constructs: they are imported when run, so
// that `manifest` and the other quick commands start quickly.
const appCommands = () => import('./commands/apps');
const rackCommands = () => import('./commands/rack');
const start = () => import('./commands/start');
const render = () => import('./commands/render');
import type { CliIO } from './io';
import { CommandFailed, processIO } from './io';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parseDuration(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new SlipwayError(`--since ${value} is not a duration such as 30s, 10m, 2h or 1d`, 'USAGE');
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count > 100) throw new SlipwayError(`--count ${value} is not a whole number from 0 to 100`, 'USAGE');
  return count;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SlipwayError(`--port ${value} is not a port number`, 'USAGE');
  return port;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface ManifestOptions {
  file?: string;
  manifest?: string;
  env: string[];
  envFile: string[];
  json?: boolean;
}

function manifestOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <path>', 'the manifest to read', undefined)
    .option('-m, --manifest <path>', 'same as --file (Convox\u2019s flag)')
    .option('-e, --env <KEY=VALUE>', 'an app environment variable (repeatable)', collect, [])
    .option('--env-file <path>', 'read KEY=VALUE lines from a file (repeatable)', collect, []);
}

export function buildProgram(io: CliIO): Command {
  const program = new Command('slipway')
    .description('Self-hosted, Convox-compatible deploys: build, provision, roll out, gate and roll back.')
    .version(version(), '-v, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const manifest = program.command('manifest').description('read and check a convox.yml');

  manifestOptions(manifest.command('validate'))
    .description('load and validate a convox.yml as Convox does; exit 0 when valid, 1 when not')
    .action((opts: ManifestOptions) => {
      validateCommand(io, { file: opts.file ?? opts.manifest ?? 'convox.yml', env: opts.env, envFile: opts.envFile });
    });

  manifestOptions(manifest.command('show'))
    .argument('[file]', 'the manifest to read (default convox.yml)')
    .option('--json', 'print JSON (the normalised manifest, in Convox\u2019s conformance shape)')
    .description('print the manifest with every default filled in')
    .action((file: string | undefined, opts: ManifestOptions) => {
      showCommand(io, { file: file ?? opts.file ?? opts.manifest ?? 'convox.yml', env: opts.env, envFile: opts.envFile, json: opts.json ?? false });
    });

  manifest
    .command('schema')
    .description('print the JSON Schema for convox.yml (for editors with the YAML language server)')
    .action(() => {
      io.stdout.write(readFileSync(new URL('../../schema/convox.schema.json', import.meta.url), 'utf8'));
    });

  manifestOptions(program.command('render'))
    .option('--app <name>', 'the app name (default: the manifest\u2019s folder name)')
    .option('--release <id>', 'the release id to render (default: a placeholder)')
    .option('--rack <name>', 'the rack name (namespaces are <rack>-<app>)')
    .option('--show-secrets', 'print Secret values instead of masking them')
    .description('print the Kubernetes objects a deploy of a convox.yml would apply (YAML)')
    .action(async (opts: ManifestOptions & { app?: string; release?: string; rack?: string; showSecrets?: boolean }) =>
      (await render()).renderCommand(io, {
        file: opts.file ?? opts.manifest ?? 'convox.yml',
        env: opts.env,
        envFile: opts.envFile,
        ...(opts.app !== undefined ? { app: opts.app } : {}),
        ...(opts.release !== undefined ? { release: opts.release } : {}),
        ...(opts.rack !== undefined ? { rack: opts.rack } : {}),
        showSecrets: opts.showSecrets ?? false,
      }),
    );

  program
    .command('start')
    .argument('[dir]', 'the app directory (default: the bundled e-commerce example)')
    .option('-a, --app <name>', 'the app name (default: the directory name)')
    .option('-e, --env <KEY=VALUE>', 'an app environment variable (repeatable)', collect, [])
    .option('--state-dir <dir>', 'the local rack\u2019s state folder (default $SLIPWAY_STATE_DIR or ~/.slipway/local)')
    .option('--port <port>', 'the router\u2019s port (default: the last one used, else a free one)', parsePort)
    .option('--plan', 'only print the deploy plan')
    .description('start the local rack, deploy an app to it, and follow its logs (Ctrl-C stops everything)')
    .action(async (dir: string | undefined, opts: { app?: string; env: string[]; stateDir?: string; port?: number; plan?: boolean }) =>
      (await start()).startCommand(io, { dir, app: opts.app, env: opts.env, stateDir: defaultStateDir(opts.stateDir), port: opts.port, plan: opts.plan ?? false }),
    );

  const rack = program.command('rack').description('the local rack: start, stop, status');
  rack
    .command('start')
    .option('--local', 'run the local rack (the only kind this command starts)')
    .option('--detach', 'run in the background')
    .option('--state-dir <dir>', 'state folder (default $SLIPWAY_STATE_DIR or ~/.slipway/local)')
    .option('--port <port>', 'the router\u2019s port', parsePort)
    .description('start the local rack')
    .action(async (opts: { local?: boolean; detach?: boolean; stateDir?: string; port?: number }) => {
      if (!opts.local) throw new SlipwayError('only the local rack starts here (--local); an AWS rack is deployed with `npx cdk deploy`', 'USAGE');
      return (await rackCommands()).rackStartCommand(io, { stateDir: defaultStateDir(opts.stateDir), detach: opts.detach ?? false, ...(opts.port !== undefined ? { port: opts.port } : {}) });
    });
  rack.command('stop').option('--state-dir <dir>').description('stop the local rack and everything it runs').action(async (opts: { stateDir?: string }) => (await rackCommands()).rackStopCommand(io, { stateDir: defaultStateDir(opts.stateDir) }));
  rack
    .command('status', { isDefault: true })
    .option('--state-dir <dir>')
    .option('--json', 'print JSON')
    .description('is the local rack running, and where')
    .action(async (opts: { stateDir?: string; json?: boolean }) => (await rackCommands()).rackStatusCommand(io, { stateDir: defaultStateDir(opts.stateDir), json: opts.json ?? false }));

  rack
    .command('cluster-setup')
    .requiredOption('--rack <name>', 'the AWS rack’s name (cdk context slipway:rackName)')
    .option('--auto-mode', 'also the IngressClass an EKS Auto Mode cluster (one the stack created) needs')
    .option('--ingress-class <name>', 'the IngressClass name the rack renders (cdk context slipway:ingressClass)', 'alb')
    .description('print the Kubernetes objects an AWS rack’s cluster needs once (RBAC for app namespaces), for kubectl apply')
    .action(async (opts: { rack: string; autoMode?: boolean; ingressClass: string }) => (await import('./commands/cluster-setup')).clusterSetupCommand(io, { rack: opts.rack, autoMode: opts.autoMode ?? false, ingressClass: opts.ingressClass }));

  const resources = program.command('resources').description('an app\u2019s managed resources on an AWS rack');
  resources
    .command('remove')
    .argument('<resource>', 'the resource\u2019s name in convox.yml')
    .requiredOption('--app <app>', 'the app')
    .requiredOption('--rack <name>', 'the AWS rack (cdk context slipway:rackName)')
    .description('delete a managed resource (RDS, ElastiCache) a deploy left in place, keeping a final snapshot; refused while deletionProtection is on')
    .action(async (resource: string, opts: { app: string; rack: string }) => (await import('./commands/resources')).resourcesRemoveCommand(io, { rack: opts.rack, app: opts.app, resource }));

  const apps = program.command('apps').description('apps: list, create, unpin');
  apps.command('list', { isDefault: true }).option('--state-dir <dir>').description('list apps').action(async (opts: { stateDir?: string }) => (await appCommands()).appsCommand(io, { stateDir: defaultStateDir(opts.stateDir) }));
  apps.command('create').argument('<app>').option('--state-dir <dir>').description('create an app').action(async (app: string, opts: { stateDir?: string }) => (await appCommands()).appsCreateCommand(io, { stateDir: defaultStateDir(opts.stateDir), app }));
  apps
    .command('unpin')
    .argument('<app>')
    .option('--state-dir <dir>')
    .description('let uploads deploy again after a console rollback')
    .action(async (app: string, opts: { stateDir?: string }) => (await appCommands()).appsUnpinCommand(io, { stateDir: defaultStateDir(opts.stateDir), app }));

  const env = program.command('env').description('the app environment');
  env
    .command('set')
    .argument('<pairs...>', 'KEY=VALUE pairs')
    .requiredOption('-a, --app <app>')
    .option('--state-dir <dir>')
    .description('set environment variables (a new env version; the next deploy uses it)')
    .action(async (pairs: string[], opts: { app: string; stateDir?: string }) => (await appCommands()).envSetCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, pairs }));

  program
    .command('deploy')
    .argument('[dir]', 'the app directory', '.')
    .requiredOption('-a, --app <app>')
    .option('--state-dir <dir>')
    .option('--no-wait', 'return once the bundle is uploaded')
    .option('--no-auto-rollback', 'keep a failed release applied instead of rolling back (irreversible migrations)')
    .option('--id', 'print only the release id on stdout')
    .description('pack, upload and deploy an app; exit 0 deployed, 1 failed, 3 rolled back')
    .action(async (dir: string, opts: { app: string; stateDir?: string; wait: boolean; autoRollback: boolean; id?: boolean }) =>
      (await appCommands()).deployCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, dir, wait: opts.wait, autoRollback: opts.autoRollback, id: opts.id ?? false }),
    );

  const releases = program.command('releases').description('an app\u2019s releases: list, rollback');
  releases
    .command('list', { isDefault: true })
    .requiredOption('-a, --app <app>')
    .option('--state-dir <dir>')
    .description('list an app\u2019s releases')
    .action(async (opts: { app: string; stateDir?: string }) => (await appCommands()).releasesCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app }));
  releases
    .command('rollback')
    .argument('[release]', 'the release to roll back to (default: the previous one)')
    .requiredOption('-a, --app <app>')
    .option('--state-dir <dir>')
    .option('--skip-gates', 'promote without the health gates (emergencies)')
    .option('--no-wait', 'return once the rollback started')
    .description('roll back through the Rollback state machine (pins the app)')
    .action(async (release: string | undefined, opts: { app: string; stateDir?: string; skipGates?: boolean; wait: boolean }) =>
      (await appCommands()).rollbackCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, ...(release ? { release } : {}), skipGates: opts.skipGates ?? false, wait: opts.wait }),
    );

  program
    .command('scale')
    .argument('<service>')
    .requiredOption('-a, --app <app>')
    .requiredOption('--count <n>', 'processes to run', parseCount)
    .option('--state-dir <dir>')
    .description('run a different number of processes of a service, now (kept by later deploys of the same count)')
    .action(async (service: string, opts: { app: string; count: number; stateDir?: string }) => (await appCommands()).scaleCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, service, count: opts.count }));

  program
    .command('logs')
    .requiredOption('-a, --app <app>')
    .option('-s, --service <service>', 'only this service')
    .option('--since <duration>', 'from this long ago: 30s, 10m, 2h', '2m')
    .option('--no-follow', 'print what there is and stop')
    .option('--state-dir <dir>')
    .description('an app\u2019s logs: every process, with service, release and time')
    .action(async (opts: { app: string; service?: string; since: string; follow: boolean; stateDir?: string }) =>
      (await appCommands()).logsCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, ...(opts.service ? { service: opts.service } : {}), sinceMs: parseDuration(opts.since), follow: opts.follow }),
    );

  program
    .command('timers')
    .description('app timers')
    .command('run')
    .argument('<timer>')
    .requiredOption('-a, --app <app>')
    .option('--state-dir <dir>')
    .option('--no-wait')
    .description('run a timer now, through the Timer state machine')
    .action(async (timer: string, opts: { app: string; stateDir?: string; wait: boolean }) => (await appCommands()).timerRunCommand(io, { stateDir: defaultStateDir(opts.stateDir), app: opts.app, timer, wait: opts.wait }));

  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print the shell completion script (e.g. source <(slipway completion bash) in ~/.bashrc)')
    .action(async (shell: string) => {
      const { bashCompletion, zshCompletion } = await import('./completion');
      if (shell === 'bash') io.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') io.stdout.write(zshCompletion(program));
      else throw new SlipwayError(`completion: ${JSON.stringify(shell)} is not a shell this command knows; use bash or zsh`, 'USAGE');
    });

  return program;
}

/** Run the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommandFailed) return e.exitCode;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof SlipwayError) {
      io.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
