/** The `slipway` command line. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SlipwayError } from '../errors';
import { showCommand, validateCommand } from './commands/manifest';
import { defaultStateDir } from '../local/rack/client';

// The rack commands load the pipeline and AWS CDK's constructs: they are imported when run, so
// that `manifest` and the other quick commands start quickly.
const rackCommands = () => import('./commands/rack');
const start = () => import('./commands/start');
const render = () => import('./commands/render');
const racks = () => import('./commands/racks');
import type { CliIO } from './io';
import { CommandFailed, processIO } from './io';
import type { RackFlags } from './commands/target';
import { rackFlags, registerAppCommands } from './app-program';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

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
    // An option after a subcommand belongs to it: `env set K=V -a shop` is set's -a, not env's.
    .enablePositionalOptions()
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

  rackFlags(program.command('racks'))
    .description('the local rack and the AWS racks of a region (--region or AWS_REGION)')
    .action(async (opts: RackFlags) => (await racks()).racksCommand(io, opts));
  const rack = program.command('rack').description('the rack: info, params; the local rack: start, stop, status');
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
    .command('status')
    .option('--state-dir <dir>')
    .option('--json', 'print JSON')
    .description('is the local rack running, and where')
    .action(async (opts: { stateDir?: string; json?: boolean }) => (await rackCommands()).rackStatusCommand(io, { stateDir: defaultStateDir(opts.stateDir), json: opts.json ?? false }));
  rackFlags(rack.command('info', { isDefault: true }))
    .description('the rack: name, provider, status, where, parameters')
    .action(async (opts: RackFlags) => (await racks()).rackInfoCommand(io, opts));
  const params = rackFlags(rack.command('params')).description('the rack\u2019s parameters').action(async (opts: RackFlags) => (await racks()).rackParamsCommand(io, opts));
  rackFlags(params.command('set'))
    .argument('<pairs...>', 'NAME=VALUE')
    .description('change rack parameters (an AWS rack\u2019s are its CDK context: this says which cdk command to run)')
    .action(async (pairs: string[], opts: RackFlags) => (await racks()).rackParamsSetCommand(io, { ...opts, pairs }));

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

  registerAppCommands(program, io);

  program
    .command('login')
    .argument('[host]', 'a Convox console (ignored)')
    .option('-t, --token <token>', 'a Convox CLI key (ignored)')
    .description('nothing to do: Slipway has no console to log in to (racks use your AWS credentials, or are local)')
    .action(() => {
      // Convox logs in to its console; a Slipway rack is in your own account, reached with the AWS
      // credentials you already have, so a script written for Convox can go on.
      io.stdout.write('Slipway needs no login: the local rack is yours, and an AWS rack (-r NAME) is reached with your AWS credentials (aws configure, AWS_PROFILE)\n');
    });

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
    const aws = awsFailure(e);
    if (aws) {
      io.stderr.write(`error: ${aws}\n`);
      return 1;
    }
    throw e;
  }
}

/**
 * An AWS SDK error (missing credentials, access denied, throttling) as one line a person can act
 * on, instead of a stack trace; undefined for anything else, which is a bug and keeps its trace.
 */
function awsFailure(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  if (e.name === 'CredentialsProviderError') return 'no AWS credentials: configure them with `aws configure`, AWS_PROFILE, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables';
  const metadata = (e as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (!metadata) return undefined;
  return `AWS answered ${e.name}${metadata.httpStatusCode ? ` (HTTP ${metadata.httpStatusCode})` : ''}: ${e.message}`;
}
